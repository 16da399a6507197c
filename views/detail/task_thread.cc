#include "views/detail/task_thread.h"

#include <utility>

namespace leadflow::views::detail {

TaskThread::~TaskThread() {
  std::thread thread;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    thread = std::move(thread_);
  }
  wake_.notify_all();
  if (thread.joinable()) thread.join();
}

std::future<Status> TaskThread::Run(std::function<Status()> task) {
  std::packaged_task<Status()> packaged(std::move(task));
  std::future<Status> result = packaged.get_future();
  {
    std::lock_guard lock(mu_);
    // Start the thread before queueing: if std::thread throws, nothing
    // is left queued with a future no one will make ready. The new thread
    // blocks on mu_ until this scope ends.
    if (!thread_.joinable()) thread_ = std::thread([this] { Loop(); });
    queue_.push_back(std::move(packaged));
  }
  wake_.notify_one();
  return result;
}

void TaskThread::Loop() {
  std::unique_lock lock(mu_);
  for (;;) {
    wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, and every task queued has run
    std::packaged_task<Status()> task = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    task();
    lock.lock();
  }
}

}  // namespace leadflow::views::detail
