// ingest/home_partition.h against a real producer: for each partitioner a
// producer may use (librdkafka's default, the Java client's, Sarama's), the
// partition the broker got each org-keyed message on is the org's home
// partition as leadflow computes it, for partition counts that do not
// divide each other.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "ingest/home_partition.h"
#include "tests/integration/cluster.h"

namespace leadflow::it {

TEST_CASE("an org's home partition is the partition a producer keyed by org_id chose") {
  std::vector<Message> messages;
  std::vector<std::string> orgs;
  for (int i = 0; i < 120; ++i) orgs.push_back("org_" + std::to_string(i * 7919));
  for (const char* org : {"org_acme", "a", "Ünïcödé-örg", "org with spaces", "0123456789012345678901234567890123456789"}) {
    orgs.push_back(org);
  }
  for (const std::string& org : orgs) messages.push_back({org, R"({"org_id":")" + org + "\"}", {}});
  struct Case {
    const char* producer_partitioner;  // librdkafka's `partitioner` ("": its default)
    ingest::Partitioner home;
  };
  for (const Case& c : {Case{"", ingest::Partitioner::kConsistent}, Case{"consistent", ingest::Partitioner::kConsistent},
                        Case{"murmur2_random", ingest::Partitioner::kMurmur2},
                        Case{"murmur2", ingest::Partitioner::kMurmur2}, Case{"fnv1a", ingest::Partitioner::kFnv1a}}) {
    for (int partitions : {5, 6}) {
      CAPTURE(c.producer_partitioner);
      CAPTURE(partitions);
      const std::string topic = UniqueName("home");
      CreateTopic(topic, partitions);
      std::vector<int32_t> chosen;
      ProduceWith(topic, messages, c.producer_partitioner, &chosen);
      std::vector<int> used(partitions, 0);
      for (size_t i = 0; i < orgs.size(); ++i) {
        CAPTURE(orgs[i]);
        CHECK(chosen[i] == ingest::HomePartition(c.home, orgs[i], partitions));
        if (chosen[i] >= 0 && chosen[i] < partitions) ++used[chosen[i]];
      }
      for (int n : used) CHECK(n > 0);  // the orgs spread over every partition
    }
  }
}

}  // namespace leadflow::it
