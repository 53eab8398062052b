// One background thread that runs steps in the order they were added: how
// recovery restores objects from one run of records while it reads the
// next from the database, on a second core.
//
// After a step fails, the steps after it are dropped (not run) and Add
// keeps accepting them: the caller learns of the failure from status() or
// Drain() and stops adding. Thread-safe.
#ifndef MPROC_SERVER_STORE_ORDERED_WORKER_H_
#define MPROC_SERVER_STORE_ORDERED_WORKER_H_

#include <cstddef>
#include <deque>
#include <functional>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"

namespace mproc {

class OrderedWorker {
 public:
  // At most `max_waiting` steps wait to run; Add blocks beyond that, so
  // the steps' data stays bounded.
  explicit OrderedWorker(size_t max_waiting);
  // Drains, then stops the thread.
  ~OrderedWorker();
  OrderedWorker(const OrderedWorker&) = delete;
  OrderedWorker& operator=(const OrderedWorker&) = delete;

  void Add(std::function<absl::Status()> step);
  // The first step's error so far; OK if none failed.
  absl::Status status() const;
  // Waits until every step added has run or been dropped (and what it
  // held is destroyed); status().
  absl::Status Drain();

 private:
  void Run();

  const size_t max_waiting_;
  mutable absl::Mutex mu_;
  std::deque<std::function<absl::Status()>> waiting_ ABSL_GUARDED_BY(mu_);
  bool running_step_ ABSL_GUARDED_BY(mu_) = false;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status status_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace mproc

#endif  // MPROC_SERVER_STORE_ORDERED_WORKER_H_
