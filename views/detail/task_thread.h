// TaskThread: one long-lived thread that runs the tasks handed to it, one
// at a time, in the order given; each Run returns the future of its task's
// Status. The applier's writer (views/write/applier.h, CommitMode::
// kHandOff): a catch-up batch's write runs here while the next batch is
// applied.
//
// One thread for the applier's life, not one per write: std::async started
// a thread per catch-up batch, and when a thread exits jemalloc purges its
// arena if no other thread uses it, whatever the decay settings. Every
// batch's writer then faulted in and zeroed its ~16 MB of buffers afresh
// (the medium stream: ~160 MB over 10 batches; session 38).
//
// The thread starts at the first Run. The destructor runs the tasks still
// queued, then joins: declare a TaskThread after the members its tasks
// use, so that it is destroyed (and its tasks done) first. A future from
// Run does not wait in its destructor, unlike std::async's.
//
// Thread safety: Run from any thread; tasks run on the TaskThread's own.
#ifndef LEADFLOW_VIEWS_DETAIL_TASK_THREAD_H_
#define LEADFLOW_VIEWS_DETAIL_TASK_THREAD_H_

#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <thread>

#include "state/status.h"

namespace leadflow::views::detail {

class TaskThread {
 public:
  TaskThread() = default;
  ~TaskThread();
  TaskThread(const TaskThread&) = delete;
  TaskThread& operator=(const TaskThread&) = delete;

  // Queues task; its Status (or its exception) arrives in the future.
  std::future<Status> Run(std::function<Status()> task);

 private:
  void Loop();

  std::mutex mu_;
  std::condition_variable wake_;
  std::deque<std::packaged_task<Status()>> queue_;  // under mu_
  bool stopping_ = false;                           // under mu_
  std::thread thread_;                              // started by the first Run, under mu_
};

}  // namespace leadflow::views::detail

#endif  // LEADFLOW_VIEWS_DETAIL_TASK_THREAD_H_
