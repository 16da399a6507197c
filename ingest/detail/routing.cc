#include "ingest/detail/routing.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <tuple>

namespace leadflow::ingest::detail {
namespace {

Route Here(const char* replica, int64_t lag) {
  Route r;
  r.kind = Route::Kind::kHere;
  r.replica = replica;
  r.lag = lag;
  return r;
}

// Sent on to member m (live and reachable: Reachable).
Route ForwardTo(const ClusterSnapshot::Member& m) {
  Route r;
  r.kind = Route::Kind::kForward;
  r.instance = m.record.instance;
  r.advertise = m.record.advertise;
  r.https = m.record.scheme == "https";
  return r;
}

Route Unavailable(std::string reason, int retry_after_seconds) {
  Route r;
  r.kind = Route::Kind::kUnavailable;
  r.reason = std::move(reason);
  r.retry_after_seconds = retry_after_seconds;
  return r;
}

// The member's record when it is live and reachable by the forwarder
// (plain HTTP, or HTTPS when it has a TLS client), else nullptr.
const ClusterSnapshot::Member* Reachable(const ClusterSnapshot& snap, const std::string& instance, bool https_peers) {
  const ClusterSnapshot::Member* m = snap.FindMember(instance);
  if (m == nullptr || !m->live || m->record.advertise.empty()) return nullptr;
  if (m->record.scheme != "http" && !(https_peers && m->record.scheme == "https")) return nullptr;
  return m;
}

}  // namespace

int RetryAfterSeconds(int64_t lag, double rate) {
  if (!(rate > 0)) return kUnknownRetrySeconds;
  const double seconds = std::ceil(static_cast<double>(std::max<int64_t>(lag, 0)) / rate);
  return static_cast<int>(std::clamp(seconds, 1.0, 30.0));
}

Route RouteOrg(const ClusterSnapshot& snap, int32_t partition, const LocalCopy& local, const RouteOptions& o) {
  const std::string where = "partition " + std::to_string(partition);
  if (local.owned && local.servable) return Here("owner", local.lag);
  const ClusterSnapshot::Partition* part =
      partition >= 0 && static_cast<size_t>(partition) < snap.partitions.size() ? &snap.partitions[partition] : nullptr;
  // 2. the owner elsewhere, caught up.
  const bool owner_elsewhere = !local.owned && part && part->owner && *part->owner != o.self;
  const ClusterSnapshot::Member* owner = owner_elsewhere ? snap.FindMember(*part->owner) : nullptr;
  const std::string owner_at =
      owner_elsewhere ? *part->owner + " at " + (owner ? owner->record.advertise : std::string("?")) : std::string();
  const bool to_owner = owner_elsewhere && part->servable && !o.forwarded && Reachable(snap, *part->owner, o.https_peers);
  // A draining owner (stopping: --drain-ms) still answers, but a standby
  // copy is asked first, so that its orgs have moved on when it stops.
  const bool owner_draining = to_owner && owner->record.draining;
  if (to_owner && !owner_draining) return ForwardTo(*owner);
  // 3. a standby copy here.
  if (!local.owned && local.standby && local.servable && local.lag <= o.max_stale_messages) {
    return Here("standby", local.lag);
  }
  // 4. a standby copy elsewhere: the least behind.
  if (!o.forwarded && part) {
    const ClusterSnapshot::Partition::Copy* best = nullptr;
    for (const auto& c : part->standbys) {
      if (c.instance == o.self || !c.servable || c.lag > o.max_stale_messages ||
          !Reachable(snap, c.instance, o.https_peers)) {
        continue;
      }
      if (best == nullptr || std::tie(c.lag, c.instance) < std::tie(best->lag, best->instance)) best = &c;
    }
    if (best != nullptr) return ForwardTo(*snap.FindMember(best->instance));
  }
  if (owner_draining) return ForwardTo(*owner);
  // 5. why not.
  std::string why;
  int retry = 1;
  if (local.owned) {
    why = where + " is being restored here (" + std::to_string(local.lag) + " messages behind)";
    retry = RetryAfterSeconds(local.lag, o.catch_up_rate);
  } else if (owner_elsewhere && !part->servable) {
    why = where + " is being restored by its owner " + owner_at;
    retry = RetryAfterSeconds(part->lag, o.catch_up_rate);
  } else if (owner_elsewhere && owner && !Reachable(snap, *part->owner, o.https_peers) && owner->live) {
    why = where + " is owned by " + owner_at + ", which serves " + owner->record.scheme +
          " (not forwarded to without a TLS client); ask it";
  } else if (owner_elsewhere) {
    why = where + " is owned by " + owner_at + "; ask it (a request forwarded once is not forwarded again)";
  } else {
    why = where + " has no live owner now";
    retry = kUnknownRetrySeconds;
  }
  if (!local.owned && local.standby) {
    why += !local.servable ? "; the standby copy here is still catching up"
                           : "; the standby copy here is " + std::to_string(local.lag) +
                                 " messages behind (--max-stale-messages " + std::to_string(o.max_stale_messages) + ")";
  }
  return Unavailable(std::move(why), retry);
}

}  // namespace leadflow::ingest::detail
