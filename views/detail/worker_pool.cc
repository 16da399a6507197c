#include "views/detail/worker_pool.h"

#include <algorithm>

namespace leadflow::views::detail {

WorkerPool::WorkerPool(size_t workers) {
  for (size_t i = 1; i < std::max<size_t>(1, workers); ++i) threads_.emplace_back([this] { Run(); });
}

WorkerPool::~WorkerPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  work_cv_.notify_all();
  for (auto& t : threads_) t.join();
}

bool WorkerPool::RunOne(std::unique_lock<std::mutex>* lock, Loop* loop) {
  if (loop->fn == nullptr || loop->next == loop->parts) return false;
  const size_t part = loop->next++;
  const auto* fn = loop->fn;
  const size_t parts = loop->parts;
  lock->unlock();
  (*fn)(part, parts);
  lock->lock();
  if (++loop->done == loop->parts) loop->done_cv.notify_one();
  return true;
}

void WorkerPool::Run() {
  uint64_t seen = 0;
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    work_cv_.wait(lock, [&] { return stop_ || generation_ != seen || (bg_.fn && bg_.next != bg_.parts); });
    if (stop_) return;
    if (generation_ != seen) {
      seen = generation_;
      while (RunOnePart(&lock, seen)) {
      }
      continue;
    }
    // One background part, then the foreground is looked at again.
    (void)RunOne(&lock, &bg_);
  }
}

void WorkerPool::StartBackground(size_t parts, const std::function<void(size_t, size_t)>* fn) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    bg_.Start(fn, parts);
  }
  if (!threads_.empty() && parts > 0) work_cv_.notify_all();
}

void WorkerPool::WaitBackground() {
  if (bg_.fn == nullptr) return;
  std::unique_lock<std::mutex> lock(mu_);
  while (RunOne(&lock, &bg_)) {
  }
  bg_.done_cv.wait(lock, [&] { return bg_.done == bg_.parts; });
  bg_.Start(nullptr, 0);
}

void WorkerPool::ParallelFor(size_t n, const std::function<void(size_t, size_t)>& fn) {
  const size_t parts = std::max<size_t>(1, std::min(workers(), n));
  if (parts == 1) {
    fn(0, 1);
    return;
  }
  RunLoop(parts, fn);
}

void WorkerPool::ParallelTasks(size_t tasks, const std::function<void(size_t)>& fn) {
  if (tasks <= 1 || threads_.empty()) {
    for (size_t i = 0; i < tasks; ++i) fn(i);
    return;
  }
  RunLoop(tasks, [&fn](size_t task, size_t) { fn(task); });
}

void WorkerPool::RunLoop(size_t parts, const std::function<void(size_t, size_t)>& fn) {
  std::unique_lock<std::mutex> lock(mu_);
  fg_.Start(&fn, parts);
  const uint64_t generation = ++generation_;
  work_cv_.notify_all();
  // The caller claims parts too, so a worker that is slow to wake (another
  // process has its core) leaves its part to the caller instead of holding
  // the loop up; the loop waits only for parts already running.
  while (RunOnePart(&lock, generation)) {
  }
  // While the parts running elsewhere finish, this thread takes background
  // parts (the next block's decode) rather than wait idle: at the end of a
  // step it is often the one waiting, for the thread that the write in
  // flight held up (session 37: ~3% of a two-worker `ingest --file` had the
  // caller idle so). A background part is short (~100 us), so the loop
  // returns at most that late, and the other thread, done, takes
  // background parts meanwhile too.
  while (fg_.done != fg_.parts) {
    if (RunOne(&lock, &bg_)) continue;
    fg_.done_cv.wait(lock, [&] { return fg_.done == fg_.parts; });
  }
  fg_.fn = nullptr;
}

}  // namespace leadflow::views::detail
