// The queued task ids of one pool, in hand-out order: higher priority
// first, first in first out within one priority. A task given back (its
// worker went, or never got it) goes back to the head of its priority, so
// it keeps its place ahead of the tasks queued after it.
//
// Entries may outlive their task (it expired, or failed meanwhile): the
// pool skips ids it no longer knows when it takes from the front, and
// size() counts them until then.
#ifndef MPROC_SERVER_TASK_QUEUE_H_
#define MPROC_SERVER_TASK_QUEUE_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <vector>

#include "absl/container/btree_map.h"

namespace mproc {

class TaskQueue {
 public:
  void PushBack(int64_t id, int64_t priority);
  void PushFront(int64_t id, int64_t priority);

  bool empty() const { return size_ == 0; }
  size_t size() const { return size_; }
  // The next id to hand out. Not empty().
  int64_t Front() const { return lanes_.begin()->second.front(); }
  void PopFront();

  // Removes the ids `drop` says so of, keeping the others' order; returns
  // them in hand-out order.
  std::vector<int64_t> RemoveIf(const std::function<bool(int64_t)>& drop);
  // Calls `visit` on every id in hand-out order.
  void ForEach(const std::function<void(int64_t)>& visit) const;

 private:
  // One FIFO per priority, highest first. Most pools use one priority: one
  // lane, a deque's cost per task.
  absl::btree_map<int64_t, std::deque<int64_t>, std::greater<int64_t>> lanes_;
  size_t size_ = 0;
};

}  // namespace mproc

#endif  // MPROC_SERVER_TASK_QUEUE_H_
