// The shared state behind AsyncResult and ResultIterator: filled by the
// Pool's receiving thread, read by any thread. Internal to client/pool.
#ifndef MPROC_CLIENT_INTERNAL_POOL_STATE_H_
#define MPROC_CLIENT_INTERNAL_POOL_STATE_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/value.h"

namespace mproc {
namespace pool_internal {

// One task's (or one MapAsync's) result, set once.
struct ResultState {
  absl::Mutex mu;
  bool ready ABSL_GUARDED_BY(mu) = false;
  absl::StatusOr<Value> result ABSL_GUARDED_BY(mu);
  int64_t task_id ABSL_GUARDED_BY(mu) = 0;
  bool has_task_id = true;  // false for a MapAsync (many tasks)
  // Cancels task `id` as its own submitter (set by the Pool).
  std::function<absl::StatusOr<std::string>(int64_t id)> cancel;

  void Set(absl::StatusOr<Value> r) {
    absl::MutexLock l(&mu);
    result = std::move(r);
    ready = true;
  }
};

// The items of an Imap / ImapUnordered as they arrive.
struct StreamState {
  explicit StreamState(bool ordered, size_t total)
      : ordered(ordered), total(total), slots(ordered ? total : 0) {}
  void Put(size_t index, absl::StatusOr<Value> item) {
    absl::MutexLock l(&mu);
    if (ordered) {
      slots[index] = std::move(item);
    } else {
      arrived.push_back(std::move(item));
    }
  }
  absl::Mutex mu;
  const bool ordered;
  const size_t total;
  size_t taken ABSL_GUARDED_BY(mu) = 0;
  std::vector<std::optional<absl::StatusOr<Value>>> slots ABSL_GUARDED_BY(mu);
  std::deque<absl::StatusOr<Value>> arrived ABSL_GUARDED_BY(mu);
};

}  // namespace pool_internal
}  // namespace mproc

#endif  // MPROC_CLIENT_INTERNAL_POOL_STATE_H_
