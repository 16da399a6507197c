// WorkerPool: a fixed set of threads that run the parts of one loop in
// parallel, with the calling thread taking a part too. For loops over a
// batch's leads or chunks: every call waits until the whole loop is done.
//
// Beside it, one *background* loop: its parts are taken by workers that
// find no part of a ParallelFor to run, so the work of a later step (the
// next block's decode) fills the time a worker would wait while the
// caller runs a serial step. A worker takes a background part only when
// the foreground has none, and looks at the foreground again after each
// part; the caller takes background parts while it waits for the
// foreground parts that others run. So keep background parts short
// (~100 us): a foreground loop returns up to one part late.
//
// Thread safety: ParallelFor, StartBackground and WaitBackground from one
// thread at a time (the applier's).
#ifndef LEADFLOW_VIEWS_DETAIL_WORKER_POOL_H_
#define LEADFLOW_VIEWS_DETAIL_WORKER_POOL_H_

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace leadflow::views::detail {

// Runs fn(i) for every i in [0, n), in any order and possibly at once, and
// returns when all are done: how a step that splits its work into
// independent tasks (views/write/dedup_set.h, views/detail/merge_sorted.h)
// is given threads without knowing the pool (WorkerPool::Runner).
using ParallelRunner = std::function<void(size_t n, const std::function<void(size_t)>& fn)>;

class WorkerPool {
 public:
  // workers: the parts a loop is split into (at least 1); workers - 1
  // threads are started, the caller runs one part.
  explicit WorkerPool(size_t workers);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  size_t workers() const { return threads_.size() + 1; }

  // Calls fn(part, parts) once for every part in [0, parts), parts =
  // min(workers(), n) (at least 1), in parallel; returns when all are done.
  // Parts go to whichever thread claims them first, the caller's included,
  // so a loop never waits for a worker that has not woken up.
  // A part handles the indexes i of [0, n) with i % parts == part, or any
  // split fn chooses. fn must not throw.
  void ParallelFor(size_t n, const std::function<void(size_t part, size_t parts)>& fn);
  // Calls fn(task) once for every task in [0, tasks), in parallel; returns
  // when all are done. Tasks are claimed one at a time by whichever thread
  // is free, the caller's included, so a thread that another process (or
  // the write in flight, or a compaction) holds up takes fewer of them:
  // for work that splits into many independent pieces, unlike
  // ParallelFor's one part per thread, which waits for the slowest. Keep a
  // task well above a microsecond (each claim takes the pool's lock).
  void ParallelTasks(size_t tasks, const std::function<void(size_t task)>& fn);
  // A ParallelRunner over ParallelTasks. The pool must outlive it.
  ParallelRunner Runner() {
    return [this](size_t n, const std::function<void(size_t)>& fn) { ParallelTasks(n, fn); };
  }

  // Starts the background loop: fn(part, parts) will be called once for
  // every part in [0, parts), by workers between foreground loops, or by
  // the caller in WaitBackground. *fn must live until WaitBackground
  // returns. One background loop at a time: the previous one must have
  // been waited for. With no worker threads, nothing runs until
  // WaitBackground.
  void StartBackground(size_t parts, const std::function<void(size_t part, size_t parts)>* fn);
  // Runs the background loop's unclaimed parts on this thread and waits
  // for those running elsewhere. Returns at once when none was started.
  void WaitBackground();

 private:
  // A loop's parts: claimed under mu_ (fn null: no loop), then run.
  struct Loop {
    const std::function<void(size_t, size_t)>* fn = nullptr;
    size_t parts = 0;
    size_t next = 0;  // the next part to claim
    size_t done = 0;
    std::condition_variable done_cv;  // done reached parts
    void Start(const std::function<void(size_t, size_t)>* f, size_t n) {
      fn = f;
      parts = n;
      next = done = 0;
    }
  };
  void Run();
  // Runs fn's parts [0, parts) on the workers and this thread (parts > 1).
  void RunLoop(size_t parts, const std::function<void(size_t, size_t)>& fn);
  // Claims and runs one part of loop; false when none is left. Called
  // with mu_ held.
  static bool RunOne(std::unique_lock<std::mutex>* lock, Loop* loop);
  // RunOne of the foreground loop of this generation only: a thread that
  // wakes after its loop is over finds nothing to claim.
  bool RunOnePart(std::unique_lock<std::mutex>* lock, uint64_t generation) {
    return generation_ == generation && RunOne(lock, &fg_);
  }

  std::vector<std::thread> threads_;
  std::mutex mu_;
  std::condition_variable work_cv_;
  Loop fg_;                  // guarded by mu_: ParallelFor's
  uint64_t generation_ = 0;  // guarded by mu_: ParallelFor's calls
  bool stop_ = false;        // guarded by mu_
  // The background loop (its fn is set by the caller's thread only, so
  // the caller reads it without the lock).
  Loop bg_;
};

}  // namespace leadflow::views::detail

#endif  // LEADFLOW_VIEWS_DETAIL_WORKER_POOL_H_
