#include "ingest/home_partition.h"

#include <librdkafka/rdkafka.h>

namespace leadflow::ingest {

std::optional<Partitioner> ParsePartitioner(std::string_view name) {
  if (name == "consistent") return Partitioner::kConsistent;
  if (name == "murmur2") return Partitioner::kMurmur2;
  if (name == "fnv1a") return Partitioner::kFnv1a;
  return std::nullopt;
}

const char* PartitionerName(Partitioner p) {
  switch (p) {
    case Partitioner::kConsistent: return "consistent";
    case Partitioner::kMurmur2: return "murmur2";
    case Partitioner::kFnv1a: return "fnv1a";
  }
  return "unknown";
}

int32_t HomePartition(Partitioner p, std::string_view org, int32_t partitions) {
  // An empty org has no key bytes, which librdkafka's keyed partitioners
  // hash like any other (the *_random variants would pick at random).
  const void* key = org.data();
  switch (p) {
    case Partitioner::kConsistent:
      return rd_kafka_msg_partitioner_consistent(nullptr, key, org.size(), partitions, nullptr, nullptr);
    case Partitioner::kMurmur2:
      return rd_kafka_msg_partitioner_murmur2(nullptr, key, org.size(), partitions, nullptr, nullptr);
    case Partitioner::kFnv1a:
      return rd_kafka_msg_partitioner_fnv1a(nullptr, key, org.size(), partitions, nullptr, nullptr);
  }
  return 0;
}

}  // namespace leadflow::ingest
