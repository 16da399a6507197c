// HomePartition: the partition of the events topic an org's events belong
// to, as a producer that follows the contract (message key = the org_id)
// picks it. It is a function of the org, the partitioner and the number of
// partitions, not data: every leadflow process computes the same answer
// without asking anyone (docs/scale-out-plan.md, section 2).
//
// The partitioners are librdkafka's own, called without a topic handle
// (the keyed variants never read it): `consistent` is CRC32 (librdkafka's,
// kcat's and leadflow-gen's default, `consistent_random` for a message with
// a key), `murmur2` is the Java client's default (Kafka Streams, Kafka
// Connect), `fnv1a` is Sarama's (Go). tests/integration/home_partition_test.cc
// holds each to the partition a real producer chose.
#ifndef LEADFLOW_INGEST_HOME_PARTITION_H_
#define LEADFLOW_INGEST_HOME_PARTITION_H_

#include <cstdint>
#include <optional>
#include <string_view>

namespace leadflow::ingest {

enum class Partitioner { kConsistent, kMurmur2, kFnv1a };

// "consistent", "murmur2" or "fnv1a"; nullopt for any other name.
std::optional<Partitioner> ParsePartitioner(std::string_view name);
const char* PartitionerName(Partitioner p);

// The partition in [0, partitions) of org's events; partitions must be > 0.
int32_t HomePartition(Partitioner p, std::string_view org, int32_t partitions);

}  // namespace leadflow::ingest

#endif  // LEADFLOW_INGEST_HOME_PARTITION_H_
