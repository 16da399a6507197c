#include "views/detail/worker_pool.h"

#include <algorithm>

namespace leadflow::views::detail {

WorkerPool::WorkerPool(size_t workers) {
  for (size_t i = 1; i < std::max<size_t>(1, workers); ++i) threads_.emplace_back([this, i] { Run(i); });
}

WorkerPool::~WorkerPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  work_cv_.notify_all();
  for (auto& t : threads_) t.join();
}

void WorkerPool::Run(size_t index) {
  uint64_t seen = 0;
  for (;;) {
    const std::function<void(size_t, size_t)>* fn;
    size_t parts;
    {
      std::unique_lock<std::mutex> lock(mu_);
      work_cv_.wait(lock, [&] { return stop_ || generation_ != seen; });
      if (stop_) return;
      seen = generation_;
      fn = fn_;
      parts = parts_;
    }
    if (index < parts) (*fn)(index, parts);
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (--running_ == 0) done_cv_.notify_one();
    }
  }
}

void WorkerPool::ParallelFor(size_t n, const std::function<void(size_t, size_t)>& fn) {
  const size_t parts = std::max<size_t>(1, std::min(workers(), n));
  if (parts == 1) {
    fn(0, 1);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    fn_ = &fn;
    parts_ = parts;
    running_ = threads_.size();
    ++generation_;
  }
  work_cv_.notify_all();
  fn(0, parts);
  std::unique_lock<std::mutex> lock(mu_);
  done_cv_.wait(lock, [&] { return running_ == 0; });
  fn_ = nullptr;
}

}  // namespace leadflow::views::detail
