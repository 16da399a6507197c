// ingest/home_partition.h: the partitioner names, and homes that stay in
// range and depend on the org and the partitioner only. Their agreement
// with a real producer is tests/integration/home_partition_test.cc.
#include <doctest/doctest.h>

#include <set>
#include <string>

#include "ingest/home_partition.h"

namespace leadflow::ingest {

TEST_CASE("partitioner names") {
  for (Partitioner p : {Partitioner::kConsistent, Partitioner::kMurmur2, Partitioner::kFnv1a}) {
    CHECK(ParsePartitioner(PartitionerName(p)) == p);
  }
  CHECK_FALSE(ParsePartitioner("random").has_value());
  CHECK_FALSE(ParsePartitioner("murmur2_random").has_value());  // keyed messages only: the name says which hash
  CHECK_FALSE(ParsePartitioner("").has_value());
}

TEST_CASE("a home partition is in range, the same every time, and one partition means partition 0") {
  for (Partitioner p : {Partitioner::kConsistent, Partitioner::kMurmur2, Partitioner::kFnv1a}) {
    std::set<int32_t> seen;
    for (int i = 0; i < 500; ++i) {
      const std::string org = "org-" + std::to_string(i);
      const int32_t home = HomePartition(p, org, 7);
      CHECK(home >= 0);
      CHECK(home < 7);
      CHECK(HomePartition(p, org, 7) == home);
      CHECK(HomePartition(p, org, 1) == 0);
      seen.insert(home);
    }
    CHECK(seen.size() == 7);
  }
  // The three hashes differ (some org lands elsewhere under each pair).
  int differ_cm = 0, differ_cf = 0;
  for (int i = 0; i < 100; ++i) {
    const std::string org = "org-" + std::to_string(i);
    differ_cm += HomePartition(Partitioner::kConsistent, org, 16) != HomePartition(Partitioner::kMurmur2, org, 16);
    differ_cf += HomePartition(Partitioner::kConsistent, org, 16) != HomePartition(Partitioner::kFnv1a, org, 16);
  }
  CHECK(differ_cm > 50);
  CHECK(differ_cf > 50);
}

}  // namespace leadflow::ingest
