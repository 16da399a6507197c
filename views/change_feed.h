// ChangeFeed: which orgs' state changed, at which store epoch
// (state::Reader::epoch): the versions that reports pushed to subscribers
// and cached report results are named by (issue 14, docs/dashboard-plan.md).
//
// The ingest pipeline notes each batch once it is visible, with the epoch
// its write got (views::Applier::Commit's on_landed), and the orgs whose
// events it applied. A reader that took a snapshot at epoch s asks
// VersionAt(org, s): the epoch of the org's newest change at or before s,
// which names exactly the org's state in that snapshot (every batch of an
// epoch <= s is in it, none later). Each org keeps its kKept newest change
// epochs; for a snapshot older than all of them the answer is unknown
// (nullopt), and the caller does not name (or cache) what it read. An org
// with no change noted since the feed began is at version 0: its state as
// the process found it.
//
// Thread safety: every method may be called from any thread.
#ifndef LEADFLOW_VIEWS_CHANGE_FEED_H_
#define LEADFLOW_VIEWS_CHANGE_FEED_H_

#include <array>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>

namespace leadflow::views {

class ChangeFeed {
 public:
  static constexpr size_t kKept = 4;

  // The batch visible from epoch on changed orgs' state. Epochs are noted
  // in increasing order per org (a lower one than the newest is ignored).
  void Note(std::span<const std::string> orgs, uint64_t epoch);

  // The epoch of org's newest noted change; 0 when none.
  uint64_t Newest(std::string_view org) const;
  // The epoch of org's newest change at or before snapshot_epoch: 0 when
  // none was noted (the state as found), nullopt when older changes were
  // forgotten and none kept is at or before snapshot_epoch.
  std::optional<uint64_t> VersionAt(std::string_view org, uint64_t snapshot_epoch) const;

  // Called by every Note once its epochs can be read (after the feed's own
  // locks are released, on the noting thread), with the orgs it noted:
  // report streams wake their subscribers from it instead of polling. It
  // must be quick and must not call Note. Set before the feed is shared.
  using Listener = std::function<void(std::span<const std::string> orgs)>;
  void SetListener(Listener listener) { listener_ = std::move(listener); }

  // One more with every Note; WaitFor waits until it passes seen or the
  // timeout ends, and returns it.
  uint64_t generation() const;
  uint64_t WaitFor(uint64_t seen, std::chrono::milliseconds timeout) const;

 private:
  struct Org {
    std::array<uint64_t, kKept> epochs{};  // newest first; 0 = empty slot
    bool forgot = false;                   // an epoch was pushed out of epochs
  };
  mutable std::shared_mutex mu_;
  std::map<std::string, Org, std::less<>> orgs_;
  mutable std::mutex wait_mu_;
  mutable std::condition_variable changed_;
  uint64_t generation_ = 0;  // guarded by wait_mu_
  Listener listener_;
};

}  // namespace leadflow::views

#endif  // LEADFLOW_VIEWS_CHANGE_FEED_H_
