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

bool WorkerPool::RunOnePart(std::unique_lock<std::mutex>* lock, uint64_t generation) {
  // Parts are claimed under the lock, for the loop of this generation only:
  // a thread that wakes after its loop is over finds nothing to claim.
  if (generation_ != generation || fn_ == nullptr || next_part_ == parts_) return false;
  const size_t part = next_part_++;
  const auto* fn = fn_;
  const size_t parts = parts_;
  lock->unlock();
  (*fn)(part, parts);
  lock->lock();
  if (++done_parts_ == parts_) done_cv_.notify_one();
  return true;
}

bool WorkerPool::RunOneBackgroundPart(std::unique_lock<std::mutex>* lock) {
  if (bg_next_ == bg_parts_) return false;
  const size_t part = bg_next_++;
  const auto* fn = bg_fn_;
  const size_t parts = bg_parts_;
  lock->unlock();
  (*fn)(part, parts);
  lock->lock();
  if (++bg_done_ == bg_parts_) bg_done_cv_.notify_one();
  return true;
}

void WorkerPool::Run() {
  uint64_t seen = 0;
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    work_cv_.wait(lock, [&] { return stop_ || generation_ != seen || bg_next_ != bg_parts_; });
    if (stop_) return;
    if (generation_ != seen) {
      seen = generation_;
      while (RunOnePart(&lock, seen)) {
      }
      continue;
    }
    // One background part, then the foreground is looked at again.
    (void)RunOneBackgroundPart(&lock);
  }
}

void WorkerPool::StartBackground(size_t parts, const std::function<void(size_t, size_t)>* fn) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    bg_fn_ = fn;
    bg_parts_ = parts;
    bg_next_ = 0;
    bg_done_ = 0;
  }
  if (!threads_.empty() && parts > 0) work_cv_.notify_all();
}

void WorkerPool::WaitBackground() {
  if (bg_fn_ == nullptr) return;
  std::unique_lock<std::mutex> lock(mu_);
  while (RunOneBackgroundPart(&lock)) {
  }
  bg_done_cv_.wait(lock, [&] { return bg_done_ == bg_parts_; });
  bg_fn_ = nullptr;
  bg_parts_ = bg_next_ = bg_done_ = 0;
}

void WorkerPool::ParallelFor(size_t n, const std::function<void(size_t, size_t)>& fn) {
  const size_t parts = std::max<size_t>(1, std::min(workers(), n));
  if (parts == 1) {
    fn(0, 1);
    return;
  }
  std::unique_lock<std::mutex> lock(mu_);
  fn_ = &fn;
  parts_ = parts;
  next_part_ = 0;
  done_parts_ = 0;
  const uint64_t generation = ++generation_;
  work_cv_.notify_all();
  // The caller claims parts too, so a worker that is slow to wake (another
  // process has its core) leaves its part to the caller instead of holding
  // the loop up; the loop waits only for parts already running.
  while (RunOnePart(&lock, generation)) {
  }
  done_cv_.wait(lock, [&] { return done_parts_ == parts_; });
  fn_ = nullptr;
}

}  // namespace leadflow::views::detail
