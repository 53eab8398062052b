// The task pool's records as they travel between client, manager and
// worker (the Value shapes documented at POOL_SUBMIT in proto/mproc.proto),
// encoded and checked in one place so the three cannot disagree.
//
// A task's arguments and a result's value travel as one opaque payload
// (bytes in value_codec's encoding), made by the client or worker and
// unpacked by the other: the manager never converts them, so its cost per
// task does not grow with their size or shape (a chunk of 10,000 items is
// one bytes copy there).
#ifndef MPROC_COMMON_TASK_WIRE_H_
#define MPROC_COMMON_TASK_WIRE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/value.h"

namespace mproc {

// When a task may run and how it is retried: the manager's business only
// (workers never see it).
struct TaskSchedule {
  // Higher is handed out first; FIFO within one priority.
  int64_t priority = 0;
  // Not handed out before `delay_seconds` after its submission (countdown)
  // nor before `eta_unix` (seconds since the epoch); 0: at once.
  double delay_seconds = 0;
  double eta_unix = 0;
  // Error types (TaskError::type, e.g. "TaskError", "TimeoutError") that
  // run the task again, within max_retries in all (WorkerLost always does).
  std::vector<std::string> retry_on;
  // Before retry n (1, 2, ...): a wait drawn from [d/2, d] with
  // d = min(retry_backoff * 2^(n-1), retry_backoff_max); 0: at once.
  double retry_backoff = 0;
  double retry_backoff_max = 600;

  bool is_default() const {
    return priority == 0 && delay_seconds == 0 && eta_unix == 0 &&
           retry_on.empty() && retry_backoff == 0 && retry_backoff_max == 600;
  }
};

// A task as submitted: which registered function, with what, and how it
// may fail.
struct TaskSpec {
  std::string name;
  List args;
  Map kwargs;
  double timeout_seconds = 0;  // 0: none
  int64_t max_retries = 0;     // runs again after its worker died this often
  double expires_seconds = 0;  // fails if not started this soon; 0: never
  // args is a list of argument lists, run one after another as one task
  // (the value is then [values, failures], task_runner.h) ...
  bool chunk = false;
  // ... or, with single_args, a list of items each passed as the only
  // argument (Pool.map: no list per item to build and unpack).
  bool single_args = false;
  TaskSchedule schedule;
};

// [name, payload, timeout, max_retries, chunk, expires, schedule]; the
// payload is [args, kwargs], or [items, kwargs, true] for single_args; the
// schedule {priority, delay, eta, retry_on, backoff, backoff_max} (only
// what differs from the default) is left out when it is all default.
// Takes the spec by value: its arguments are moved into the payload.
Value EncodeTaskSpec(TaskSpec spec);

// A task as the manager keeps it: the payload stays packed.
struct TaskEnvelope {
  std::string name;
  std::string payload;  // value_codec of [args, kwargs]
  double timeout_seconds = 0;
  int64_t max_retries = 0;
  bool chunk = false;
  double expires_seconds = 0;
  TaskSchedule schedule;
};
// INVALID_ARGUMENT saying which field is wrong (without naming the pool).
// The sixth field (expires) and the seventh (schedule) may be missing.
absl::StatusOr<TaskEnvelope> DecodeTaskEnvelope(const Value& encoded);
// The wire form again (what a durable manager records).
Value EncodeTaskEnvelope(const TaskEnvelope& task);

// What went wrong with a task, and where.
struct TaskError {
  // "TaskError" (the function failed or threw), "UnknownTask",
  // "ArgumentError", "PermissionDenied", "TimeoutError", "WorkerLost",
  // "Cancelled", "ResultTooLarge".
  std::string type;
  std::string message;
  std::string host;  // where it ran ("" if it never ran)
  int64_t pid = 0;
};

// How one task (or one item of a chunk) ended.
struct TaskOutcome {
  absl::StatusCode code = absl::StatusCode::kOk;
  Value value;                     // when code is OK
  std::optional<TaskError> error;  // otherwise
};

Value EncodeOutcome(const TaskOutcome& outcome);
absl::StatusOr<TaskOutcome> DecodeOutcome(const Value& encoded);

// A finished task: [task_id, code, payload of the value (or null), error,
// run time in microseconds, hand-out]; without a hand-out (0) the last
// field is left out, as results were before hand-outs were numbered.
struct TaskResult {
  int64_t task_id = 0;
  TaskOutcome outcome;
  int64_t run_us = 0;   // how long the worker ran it (0: it did not)
  int64_t attempt = 0;  // the work item's hand-out (0: not known)
};

Value EncodeResult(const TaskResult& result);
absl::StatusOr<TaskResult> DecodeResult(const Value& encoded);

// What the manager reads of a result, without unpacking its value.
struct ResultHeader {
  int64_t task_id = 0;
  absl::StatusCode code = absl::StatusCode::kOk;
  int64_t run_us = 0;
  int64_t attempt = 0;
};
absl::StatusOr<ResultHeader> PeekResult(const Value& encoded);
// The error of a failed result ({"", ""} for a success or a bad record),
// without unpacking its value.
TaskError PeekResultError(const Value& encoded);

// A task handed to a worker: [task_id, name, payload, timeout, chunk,
// hand-out]. The hand-out numbers each time the manager hands a task out;
// the worker's result names it, so a result of an earlier hand-out (one
// the manager ended: timed out, or taken back) cannot pass for the
// current one's. It may be missing (0: not known; then left out, for
// workers that predate it).
struct WorkItem {
  int64_t task_id = 0;
  int64_t attempt = 0;
  TaskSpec spec;
};

Value EncodeWorkItem(int64_t task_id, const TaskEnvelope& task,
                     int64_t attempt = 0);
// Unpacks the payload too; INVALID_ARGUMENT if it is not [args, kwargs].
absl::StatusOr<WorkItem> DecodeWorkItem(const Value& encoded);

// The status a caller sees for a failed outcome: its code, and a message
// "<type>: <message> (task '<name>' id <id> on <host>:<pid>)".
absl::Status OutcomeStatus(const TaskOutcome& outcome, absl::string_view name,
                           int64_t task_id);

// The TaskError type carried by a status from OutcomeStatus or
// WithTaskErrorType, or nullopt for other statuses.
std::optional<std::string> TaskErrorType(const absl::Status& status);
// `status` marked with a TaskError type (e.g. "ArgumentError").
absl::Status WithTaskErrorType(absl::Status status, absl::string_view type);

}  // namespace mproc

#endif  // MPROC_COMMON_TASK_WIRE_H_
