// A task pool: the manager's side of Pool.apply_async. Clients submit
// tasks into one FIFO per pool; worker processes (`mproc worker`) take
// them over their own streams and report results, which go to the
// submitting client's inbox and from there down its stream.
//
// Contracts (see POOL_SUBMIT in proto/mproc.proto for the wire shapes):
// - Each task is queued -> running -> succeeded | failed | lost, and the
//   first terminal state wins: a completion after a timeout or a loss, or a
//   second completion, is counted and ignored.
// - A running task belongs to the stream of the worker that took it. When
//   that stream ends with the task unfinished (the process died, or was
//   paused or cut off past the manager's keepalive), the task is queued
//   again at the front if it has retries left, else it fails with
//   WorkerLost and goes on the dead-letter list. A completion from anyone
//   but its current holder is refused (fenced_completions): a paused
//   worker's late result never overrides the retry's, and a task it
//   finished after WorkerLost stays lost. So delivery is at-least-once
//   under pauses: a task is never run twice while its worker's stream
//   lives, but may be when the worker was declared lost and then resumed.
// - A task with an expiry fails with Expired (DEADLINE_EXCEEDED) if no
//   worker has taken it that long after its submission.
// - Submitting to a pool with no connected worker answers a warning beside
//   the first id; the tasks still wait (or expire).
// - A task with a timeout fails with TimeoutError once it has run that long
//   (from the moment a worker took it); the worker kills the process
//   running it.
// - Answers that carry tasks or results are sent with ReplySink::Deliver,
//   so if the stream breaks before they are written, the tasks go back to
//   the queue and the results back to their inbox.
// - Results wait in their inbox until read. Once the inbox's session has
//   ended (or it was detached), they are kept for `result_ttl`, readable by
//   task id (Get) or by a reader of the same inbox.
// - Durability (object_log.h): a task is recorded ('t' + id) from its
//   submission until it finishes, when its result is recorded ('r' + id)
//   in its place, until a reader has it (or the TTL drops it); the next
//   task id ('n'), the counters ('c') and the dead letters ('x' + seq) are
//   recorded as they change. At restart every recorded task is queued
//   again — a task that was running when the manager died runs again
//   (at-least-once across manager crashes; its loss is not its fault, so
//   it does not count against max_retries) — and the results wait for
//   their inbox, whose TTL starts then. A submit fails UNAVAILABLE, taking
//   nothing, if its tasks cannot be recorded.
#ifndef MPROC_SERVER_POOL_OBJECT_H_
#define MPROC_SERVER_POOL_OBJECT_H_

#include <cstdint>
#include <deque>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/container/node_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/task_wire.h"
#include "server/parking_object.h"
#include "server/task_queue.h"

namespace mproc {

class PoolObject : public ParkingObject {
 public:
  // Finished task records kept by default (CreateSpec.task_records 0).
  static constexpr int64_t kDefaultMaxRecords = 10000;

  PoolObject(std::string name, DeadlineTimer* timer, absl::Duration result_ttl,
             int64_t max_records = kDefaultMaxRecords);

  int64_t Size() const override;  // queued tasks
  Map Details() const override;

  // Queues `tasks` (encoded TaskSpecs; all or none) for `inbox`. Returns
  // the first task id; the others follow consecutively.
  absl::StatusOr<Value> Submit(int64_t inbox, const List& tasks,
                               CallContext* call);
  // Up to max_n finished results of `inbox`, waiting up to `timeout` while
  // there are none (then []). Needs a session.
  absl::StatusOr<Value> Results(int64_t inbox, int64_t max_n,
                                absl::Duration timeout, CallContext* call);
  // The result of `task_id`, waiting up to `timeout` (DEADLINE_EXCEEDED).
  // NOT_FOUND for an unknown id or a result already delivered.
  absl::StatusOr<Value> Get(int64_t task_id, absl::Duration timeout,
                            CallContext* call);
  // Fails the queued tasks of `inbox` with CANCELLED; returns how many.
  int64_t Cancel(int64_t inbox);
  // Cancels task `task_id` (of `inbox` only, unless inbox is 0); answers
  // the state it was in ("queued", "scheduled" or "running").
  // FAILED_PRECONDITION if it has finished, NOT_FOUND if unknown.
  absl::StatusOr<Value> CancelTask(int64_t task_id, int64_t inbox);
  // The records of tasks matching `filter` {state, name, limit}, by id
  // (the newest `limit`, default 100). The arguments of exec tasks (command
  // lines, which may carry secrets) are shown only if `show_commands` (the
  // caller may run commands itself: admin or exec role).
  absl::StatusOr<Value> Tasks(const Map& filter, bool show_commands) const;
  // One task's record; NOT_FOUND saying whether it is unknown or gone.
  absl::StatusOr<Value> TaskRecord(int64_t task_id, bool show_commands) const;
  // Queues the dead letters `ids` (or all of them, `all`) again as new
  // tasks of `inbox`; answers [[old id, new id], ...].
  absl::StatusOr<Value> Requeue(int64_t inbox, const List& ids, bool all,
                                CallContext* call);
  // Answers the inbox's waiting Results call with [] and starts the TTL.
  void Detach(int64_t inbox);
  Value Status(bool show_commands) const;  // as Tasks shows arguments

  // A worker reports `done` results and `returned` (untouched) task ids
  // and asks for up to max_n tasks.
  absl::StatusOr<Value> WorkerNext(const Map& worker, List done,
                                   const List& returned, int64_t max_n,
                                   absl::Duration timeout, CallContext* call);
  absl::Status WorkerStop(CallContext* call);
  // Whether the calling worker still runs `task_id`, in hand-out
  // `attempt` (0: any): false once it was cancelled, timed out or taken
  // back.
  bool WorkerHolds(int64_t task_id, int64_t attempt,
                   const CallContext& call) const;

  absl::Status Restore(absl::string_view key, absl::string_view value) override;
  void Restored() override;

 private:
  enum Line { kWorkers = 0, kReaders = 1, kGetters = 2, kLines = 3 };

  // One finished hand-out of a task.
  struct Attempt {
    absl::Time started;
    absl::Time ended;
    std::string worker;  // host:pid
    std::string error;   // "Type: message"; "" if it succeeded
  };
  struct Task {
    TaskEnvelope spec;
    int64_t inbox = 0;
    absl::Time submitted;
    absl::Time not_before;      // not handed out sooner (countdown, backoff)
    uint64_t due_timer = 0;     // while scheduled: waits for not_before
    int64_t error_retries = 0;  // runs again after an error in retry_on
    absl::Time started_at;      // of the current hand-out
    std::vector<Attempt> attempts;
    bool started = false;        // handed out once (it no longer expires)
    int64_t losses = 0;          // times its worker died while running it
    int64_t worker = 0;          // while running
    uint64_t attempt = 0;        // counts hand-outs, to tell timer events apart
    uint64_t timeout_timer = 0;  // this hand-out's timeout entry, if any
    uint64_t expiry_timer = 0;   // until first handed out, if it expires
  };
  // Drops the timeout entry of a task no longer running.
  void CancelTimeoutLocked(Task& task) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The expiry timer: fails the task with Expired if no worker took it.
  void TaskExpired(int64_t task_id);

  struct Worker {
    int64_t id = 0;
    std::string host;
    int64_t pid = 0;
    int64_t prefetch = 1;   // tasks it always may hold
    int64_t batch_us = 0;   // measured work it may hold beyond that
    bool numbered = false;  // its work items may carry their hand-out
    std::shared_ptr<ReplySink> sink;
    uint64_t close_hook = 0;
    absl::flat_hash_set<int64_t> running;
    int64_t done = 0;
    bool stopping = false;
    absl::Time since;
  };
  struct Inbox {
    std::deque<int64_t> ready;  // finished, undelivered task ids
    int64_t pending = 0;        // queued or running
    std::shared_ptr<ClientSession> session;
    uint64_t hold_hook = 0;
    uint64_t hold_serial = 0;  // tells a stale session expiry apart
    bool orphaned = false;     // its TTL runs
  };
  struct Finished {
    int64_t inbox = 0;
    Value result;  // encoded TaskResult
    absl::Time at;
  };
  // What is kept of a finished task for `tasks` and `task`.
  struct Record {
    TaskEnvelope spec;  // its payload only if small (kRecordPayloadBytes)
    size_t payload_bytes = 0;
    std::string state;  // succeeded, failed, cancelled, lost, expired
    absl::Time submitted;
    absl::Time finished;
    std::vector<Attempt> attempts;
    std::string error;
  };

  absl::StatusOr<Value> TimeoutAnswer(int line) const override
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  Worker* WorkerFor(const CallContext& call, const Map& info)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Hands queued tasks to waiting workers.
  void DispatchLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Takes up to max_n queued tasks for `worker`; their encoded work items.
  List TakeTasksLocked(Worker& worker, int64_t max_n)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Puts running tasks of `worker_id` that never reached it back in front.
  void Requeue(int64_t worker_id, std::vector<int64_t> task_ids);
  void RequeueLocked(int64_t worker_id, const std::vector<int64_t>& task_ids)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void CompleteLocked(Worker& worker, Value encoded)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Records of tasks, results and counters (no-ops when not durable).
  // A task's record: [inbox, losses, submitted (unix s), task, started,
  // error retries, attempts, not before (unix s)].
  LogChange TaskRecordLocked(int64_t id, const Task& task) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  LogChange CountersRecordLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // A finished task's: [inbox, encoded TaskResult, finished (unix s)].
  static LogChange ResultRecord(int64_t id, int64_t inbox, const Value& encoded,
                                absl::Time at);
  // A dead letter's.
  static LogChange DeadLetterRecord(uint64_t seq, const Value& entry);
  static std::string DeadLetterKey(uint64_t seq);
  static LogChange TaskRecordDeleted(int64_t id);
  // The results `ids` went to a reader: their records go once it has them.
  std::shared_ptr<HandedOverRecords> HandOverResultsLocked(
      const List& results) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Ends `task_id` (queued or running) with its encoded TaskResult.
  void FinishLocked(int64_t task_id, Value encoded, bool succeeded)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Ends `task_id` with an error of the manager's own.
  void FailLocked(int64_t task_id, absl::StatusCode code, std::string type,
                  std::string message, const Worker* where)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The measured cost of a task like `task` (µs), or -1 if unknown.
  double CostLocked(const Task& task) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Sends the ready results of `inbox` to its waiting reader, if any.
  void FeedReaderLocked(int64_t inbox) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  List TakeReadyLocked(Inbox& box, int64_t max_n)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Puts delivered-but-unsent results back in front of their inbox.
  void Undeliver(int64_t inbox, List results);
  void AttachInboxLocked(int64_t inbox, const CallContext& call)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void OrphanInboxLocked(int64_t inbox) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Orphan(int64_t inbox, uint64_t hold_hook);
  // Drops the inbox's results older than the TTL.
  void Purge(int64_t inbox);
  void WorkerGone(int64_t worker_id);
  void TaskTimedOut(int64_t task_id, uint64_t attempt);

  // Records `fresh` tasks (with `changes`, all or none: UNAVAILABLE if
  // they cannot be), then queues them for `inbox`. The first new id.
  absl::StatusOr<int64_t> AddTasksLocked(int64_t inbox, std::vector<Task> fresh,
                                         std::vector<LogChange> changes,
                                         const CallContext& call)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Queues `task_id` now, or schedules it for its not_before.
  void EnqueueLocked(int64_t task_id, Task& task, bool front)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The due timer of a scheduled task: queues it.
  void TaskDue(int64_t task_id);
  // Ends the current hand-out of a running task with `error` (kept in its
  // attempts); it is no longer running.
  void EndAttemptLocked(int64_t task_id, Task& task, std::string error)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // If `task` may run again after `error_type`, ends its hand-out, queues
  // it (after its backoff for an error) and returns true.
  bool RetryLocked(int64_t task_id, Task& task, const std::string& error_type,
                   const std::string& error) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Lists a task that failed for good among the dead letters; adds the
  // records to write to `changes`.
  void DeadLetterLocked(int64_t task_id, const Task& task,
                        const std::string& error, absl::Time now,
                        std::vector<LogChange>* changes)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // A dead letter as `status` lists it (its task's arguments summed up).
  static Value DeadLetterView(const Value& entry, bool show_commands);
  // Keeps the record of a finished task, dropping the oldest past the
  // bound or the TTL.
  void KeepRecordLocked(int64_t task_id, Task task, std::string state,
                        std::string error, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::string StateLocked(const Task& task) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Map TaskInfoLocked(int64_t task_id, const Task& task,
                     bool show_commands) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  static Map RecordInfo(int64_t task_id, const Record& record,
                        bool show_commands);

  const absl::Duration result_ttl_;
  const int64_t max_records_;

  int64_t next_task_id_ ABSL_GUARDED_BY(mu_) = 1;
  int64_t next_worker_id_ ABSL_GUARDED_BY(mu_) = 1;
  // Hand-outs count up from the start time in µs, so that numbers given
  // after a restart exceed those given before it: a result a worker kept
  // across the restart cannot match a new hand-out.
  uint64_t next_attempt_ ABSL_GUARDED_BY(mu_) =
      static_cast<uint64_t>(absl::ToUnixMicros(absl::Now()));
  // Live tasks. Nodes, not a flat table: a Task is ~120 bytes, and a flat
  // table just past growing would hold twice that per queued task.
  absl::node_hash_map<int64_t, Task> tasks_ ABSL_GUARDED_BY(mu_);
  TaskQueue queue_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<int64_t, Worker> workers_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<const ReplySink*, int64_t> worker_by_sink_
      ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<int64_t, Inbox> inboxes_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<int64_t, Finished> finished_ ABSL_GUARDED_BY(mu_);
  // Records of finished tasks, and their ids oldest first.
  absl::flat_hash_map<int64_t, Record> records_ ABSL_GUARDED_BY(mu_);
  std::deque<int64_t> record_order_ ABSL_GUARDED_BY(mu_);
  // (record sequence, entry), oldest first.
  std::deque<std::pair<uint64_t, Value>> dead_letter_ ABSL_GUARDED_BY(mu_);
  // Run time per task name (chunks apart), a moving average in µs: what
  // lets cheap tasks travel to workers in batches.
  absl::flat_hash_map<std::string, double> cost_us_ ABSL_GUARDED_BY(mu_);
  int64_t running_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t scheduled_ ABSL_GUARDED_BY(mu_) = 0;  // waiting for not_before
  int64_t succeeded_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t failed_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t lost_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t retried_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t ignored_ ABSL_GUARDED_BY(mu_) = 0;  // late or repeated completions
  // Completions refused: their task had been taken from that worker.
  int64_t fenced_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t expired_ ABSL_GUARDED_BY(mu_) = 0;      // results dropped by the TTL
  std::minstd_rand jitter_ ABSL_GUARDED_BY(mu_);  // of retry backoffs
  // Loaded from the data dir at start: tasks queued again, results kept.
  int64_t recovered_tasks_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t recovered_results_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace mproc

#endif  // MPROC_SERVER_POOL_OBJECT_H_
