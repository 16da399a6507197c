// WriteHandOff: the applier's write in flight (views/write/applier.h,
// Commit). A catch-up batch's store write runs on a thread of its own while
// the next batch is applied (CommitMode::kHandOff); a live batch's runs on
// the caller's thread (kWait). Either way this piece holds what the write
// carries besides the parts' shares until it lands: the meta puts and the
// org records (meta()), the duplicate set's new records (the bucket batches,
// one per part, built in parallel by DedupSet::Stage) and their staged
// landing (staged()). It also keeps the poison: a write that failed fails
// every later call with its error, and the owner must build a new applier.
//
// What the applier does when a write lands (the counters, the duplicate
// set's Land, the parts' in-flight shares and caches) stays in
// Applier::Land: it touches the parts, and this piece knows none.
//
// Thread safety: one thread (the applier's) calls everything. While a
// write is in flight (InFlight()), meta(), staged() and the buckets belong
// to it: the applier's thread touches them again only after Wait.
#ifndef LEADFLOW_VIEWS_WRITE_WRITE_HAND_OFF_H_
#define LEADFLOW_VIEWS_WRITE_WRITE_HAND_OFF_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <span>
#include <vector>

#include "state/status.h"
#include "state/store.h"
#include "views/detail/task_thread.h"
#include "views/write/dedup_set.h"

namespace leadflow::views {

class WriteHandOff {
 public:
  // buckets: how many bucket batches (the applier's parts).
  explicit WriteHandOff(size_t buckets);
  WriteHandOff(const WriteHandOff&) = delete;
  WriteHandOff& operator=(const WriteHandOff&) = delete;

  // Whether a handed-off write has not been waited for yet.
  bool InFlight() const { return inflight_.valid(); }
  // OK until a write fails; then that write's error, for good.
  const Status& poisoned() const { return poisoned_; }

  // What the next write carries besides the parts' shares.
  state::WriteBatch& meta() { return meta_; }
  std::vector<state::WriteBatch*> buckets();
  DedupSet::Staged& staged() { return staged_; }

  // The write itself: the before-write hook (tests), then meta(), shares
  // (the parts' batches) and the non-empty buckets as one atomic store
  // write: Store::Stage when stage (live), else Store::Write; *epoch is the
  // epoch it got. On the writer thread for a handed-off write.
  Status Write(state::Store* store, bool stage, std::span<state::WriteBatch* const> shares, uint64_t* epoch);

  // Runs write on the writer thread. REQUIRES: !InFlight().
  void Start(std::function<Status()> write);
  // Waits for the write in flight: its Status (OK when none is in flight).
  // Does not poison: the caller's Land does, with Fail.
  Status Wait();

  // A write failed (s not OK): poisons (the first error is kept), drops the
  // staged landing of the duplicate set, and returns s.
  Status Fail(Status s);
  // A write landed: the meta and bucket batches are emptied for the next
  // one (staged() is emptied by DedupSet::Land).
  void Landed();
  // Commit's failure before any write started: the batches it filled are
  // emptied.
  void Drop();

  // Tests: called at the start of each Write (on the writer thread for a
  // handed-off one), to hold it in flight; a non-OK result fails the write
  // instead (as a full disk would).
  void set_before_write_for_tests(std::function<Status()> fn) { before_write_ = std::move(fn); }

 private:
  state::WriteBatch meta_;
  std::vector<std::unique_ptr<state::WriteBatch>> buckets_;
  DedupSet::Staged staged_;
  std::future<Status> inflight_;
  Status poisoned_;
  std::function<Status()> before_write_;
  // Last: destroyed first, so that a write still queued runs while
  // everything it uses is alive (detail/task_thread.h).
  detail::TaskThread writer_;
};

}  // namespace leadflow::views

#endif  // LEADFLOW_VIEWS_WRITE_WRITE_HAND_OFF_H_
