// Routing: where a cluster instance answers a request for an org (issue 13,
// docs/scale-out-plan.md sections 3 and 4), decided from the shared view
// (ClusterSnapshot) and this instance's own copy of the org's home
// partition. Pure: no Kafka, no HTTP (tests/ingest/routing_test.cc).
//
// In order of preference:
//   1. this instance owns the partition and its shard has caught up: here;
//   2. another live instance owns it, caught up, over HTTP: forwarded there
//      (the owner's answer is exact);
//   3. this instance keeps a standby copy that has caught up once and is at
//      most max_stale_messages behind: here, as a standby (the answer says
//      how stale it may be: Leadflow-Replica, Leadflow-Lag-Messages);
//   4. another live instance keeps such a copy: forwarded there;
//      (an owner that is draining, stopping with --drain-ms, comes after
//      steps 3 and 4 instead of at 2: it still answers, exactly, but its
//      orgs move to their copies before it stops);
//   5. else 503 with why (a shard being restored, no live owner, ...).
// A request that was forwarded once is never forwarded again (steps 2 and 4
// are skipped): it is answered here or 503, so a disagreement between two
// views can never make a loop. Smart Views are no exception: every
// instance keeps every org's views (ingest/cluster_view.h), so a standby
// copy answers them too.
#ifndef LEADFLOW_INGEST_DETAIL_ROUTING_H_
#define LEADFLOW_INGEST_DETAIL_ROUTING_H_

#include <cstdint>
#include <string>

#include "ingest/detail/placement.h"

namespace leadflow::ingest::detail {

// This instance's copy of a partition's shard.
struct LocalCopy {
  bool owned = false;    // the group assigned the partition to this instance
  bool standby = false;  // this instance keeps a standby copy of it
  bool servable = false;  // that copy has caught up (owner: since assigned; standby: once since it began)
  int64_t lag = 0;        // messages of the partition that copy has not applied
};

struct RouteOptions {
  std::string self;                     // this instance's id
  int64_t max_stale_messages = 10000;   // --max-stale-messages: the most a standby answer may lag
  bool forwarded = false;               // the request came from another instance (Leadflow-Forwarded-By)
  bool https_peers = false;             // instances that serve HTTPS can be forwarded to
  // Messages a second this instance has lately applied while catching up
  // (KafkaIngest::CatchUpRate), to tell a 503 when to come back; 0: unknown.
  double catch_up_rate = 0;
};

// The Retry-After of a 503 for a shard lag messages behind at rate
// messages a second: the seconds it needs, 1 to 30; kUnknownRetrySeconds
// without a rate.
inline constexpr int kUnknownRetrySeconds = 5;
int RetryAfterSeconds(int64_t lag, double rate);

struct Route {
  enum class Kind { kHere, kForward, kUnavailable };
  Kind kind = Kind::kUnavailable;
  // kHere: "owner" or "standby", and that copy's lag.
  std::string replica;
  int64_t lag = 0;
  // kForward: the instance, its advertised HOST:PORT, and whether it
  // serves HTTPS.
  std::string instance, advertise;
  bool https = false;
  // kUnavailable: why, for the 503's body, and when to ask again (the
  // restore's lag at catch_up_rate; kUnknownRetrySeconds for no live owner:
  // the group's session timeout, then the restore; 1 otherwise).
  std::string reason;
  int retry_after_seconds = 1;
};

Route RouteOrg(const ClusterSnapshot& snap, int32_t partition, const LocalCopy& local, const RouteOptions& options);

}  // namespace leadflow::ingest::detail

#endif  // LEADFLOW_INGEST_DETAIL_ROUTING_H_
