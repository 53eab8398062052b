#include "server/task_queue.h"

namespace mproc {

void TaskQueue::PushBack(int64_t id, int64_t priority) {
  lanes_[priority].push_back(id);
  ++size_;
}

void TaskQueue::PushFront(int64_t id, int64_t priority) {
  lanes_[priority].push_front(id);
  ++size_;
}

void TaskQueue::PopFront() {
  auto lane = lanes_.begin();
  lane->second.pop_front();
  --size_;
  if (lane->second.empty()) lanes_.erase(lane);
}

std::vector<int64_t> TaskQueue::RemoveIf(
    const std::function<bool(int64_t)>& drop) {
  std::vector<int64_t> removed;
  for (auto lane = lanes_.begin(); lane != lanes_.end();) {
    std::deque<int64_t> kept;
    for (int64_t id : lane->second) {
      if (drop(id)) {
        removed.push_back(id);
      } else {
        kept.push_back(id);
      }
    }
    lane->second.swap(kept);
    if (lane->second.empty()) {
      lane = lanes_.erase(lane);
    } else {
      ++lane;
    }
  }
  size_ -= removed.size();
  return removed;
}

void TaskQueue::ForEach(const std::function<void(int64_t)>& visit) const {
  for (const auto& [priority, lane] : lanes_) {
    for (int64_t id : lane) visit(id);
  }
}

}  // namespace mproc
