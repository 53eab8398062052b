// mproc::Pool: Python's multiprocessing.Pool, served by worker processes
// (`mproc worker`, or a binary of your own calling mproc::WorkerMain from
// worker/supervisor.h) anywhere on the network.
//
//   auto pool = (*manager)->Pool("default");
//   absl::StatusOr<mproc::Value> r = (*pool)->Apply("square", {7});   // 49
//   mproc::AsyncResult a = (*pool)->ApplyAsync(
//       "square", {8}, {}, [](const mproc::Value& v) { ... });
//   absl::StatusOr<mproc::List> squares =
//       (*pool)->Map("square", {1, 2, 3});                              // 1 4
//       9
//   (*pool)->Close();
//   (*pool)->Join();
//
// Tasks are functions registered by name in the workers (task_registry.h);
// arguments and results are mproc::Values. Submissions are batched: many
// ApplyAsync calls travel to the manager together, and results come back
// together on this Manager's stream, where a thread of this Pool runs the
// callbacks — one at a time, in completion order, so a callback must not
// block for long (as in Python). A failed task's status carries its code
// and a message "<type>: <message> (task 'name' id N on host:pid)";
// TaskErrorType (client/task_wire.h) gives the type: TaskError (the
// function failed or threw), UnknownTask, ArgumentError, PermissionDenied,
// TimeoutError, WorkerLost (its worker process died; also after
// max_retries re-runs), Cancelled (Terminate), ResultTooLarge.
//
// Thread-safe. A fork() while tasks are in flight pauses the Pool's
// threads for the fork; a Pool belongs to the process that made it (a
// forked child makes its own). The Pool must be destroyed before its
// Manager. Destroying it does not cancel submitted tasks: their results
// stay in the manager for its result TTL, readable by task id
// (GetResult). If the manager restarts, tasks it kept (a manager with a
// --data-dir keeps every task and unread result) carry on and their
// results arrive as if nothing happened; tasks it does not know any more
// (an in-memory manager) fail with UNAVAILABLE.
#ifndef MPROC_CLIENT_POOL_H_
#define MPROC_CLIENT_POOL_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "client/proxies.h"
#include "common/task_wire.h"
#include "common/value.h"

namespace mproc {

struct TaskOptions {
  // Fail the task with TimeoutError (DEADLINE_EXCEEDED) once it has run
  // this long; the process running it is killed and replaced.
  absl::Duration timeout = absl::InfiniteDuration();
  // Run it again this many times if its worker process dies under it.
  int64_t max_retries = 0;
  // Fail it with Expired (DEADLINE_EXCEEDED) if no worker has started it
  // within this long of its submission (Celery's expires): a task nobody
  // could run in time is dropped instead of waiting for ever.
  absl::Duration expires = absl::InfiniteDuration();
  // Also run it again (within max_retries in all) when it fails with one of
  // these error types: "TaskError" (the function failed), "TimeoutError",
  // "UnknownTask", ...; "*" for any error but a cancellation or expiry.
  std::vector<std::string> retry_on;
  // The wait before retry n after an error: drawn from [d/2, d], d =
  // min(retry_backoff * 2^(n-1), retry_backoff_max). Zero: at once.
  absl::Duration retry_backoff = absl::ZeroDuration();
  absl::Duration retry_backoff_max = absl::Minutes(10);
  // Not handed to a worker before this long after its submission
  // (countdown), nor before `eta`.
  absl::Duration countdown = absl::ZeroDuration();
  absl::Time eta = absl::InfinitePast();
  // Higher runs first; FIFO within one priority.
  int64_t priority = 0;
};

// Which tasks Pool::Tasks lists ("" and 0: any).
struct TaskFilter {
  std::string state;  // queued, scheduled, running, succeeded, failed, ...
  std::string name;   // the task's function
  int64_t limit = 0;  // the newest N (0: the manager's default, 100)
};

using ResultCallback = std::function<void(const Value& result)>;
using ErrorCallback = std::function<void(const absl::Status& error)>;

namespace pool_internal {
struct ResultState;
struct StreamState;
class ForkHook;
}  // namespace pool_internal

// The future of one task (or of a whole MapAsync). Cheap to copy.
class AsyncResult {
 public:
  // The result; DEADLINE_EXCEEDED if not ready within `timeout`.
  absl::StatusOr<Value> Get(
      absl::Duration timeout = absl::InfiniteDuration()) const;
  // Whether it is ready within `timeout`.
  bool Wait(absl::Duration timeout = absl::InfiniteDuration()) const;
  bool Ready() const;
  // Whether it succeeded; FAILED_PRECONDITION while not ready.
  absl::StatusOr<bool> Successful() const;
  // The manager's task id (for Pool::GetResult); waits until the manager
  // has accepted the task. 0 if it never did (the submission failed), and
  // for a MapAsync (many tasks).
  int64_t task_id() const;
  // Cancels the task (Pool::Cancel); its result becomes CANCELLED.
  absl::StatusOr<std::string> Cancel() const;

 private:
  friend class Pool;
  explicit AsyncResult(std::shared_ptr<pool_internal::ResultState> state)
      : state_(std::move(state)) {}
  std::shared_ptr<pool_internal::ResultState> state_;
};

// Results of Imap / ImapUnordered, one at a time.
class ResultIterator {
 public:
  // The next result (in submission order for Imap, completion order for
  // ImapUnordered), nullopt after the last; a failed item gives its error.
  // DEADLINE_EXCEEDED if none is ready within `timeout`.
  absl::StatusOr<std::optional<Value>> Next(
      absl::Duration timeout = absl::InfiniteDuration());

 private:
  friend class Pool;
  explicit ResultIterator(std::shared_ptr<pool_internal::StreamState> state)
      : state_(std::move(state)) {}
  std::shared_ptr<pool_internal::StreamState> state_;
};

class Pool {
 public:
  // Use Manager::Pool. `instance_changes` reads the connection's count of
  // manager restarts (tasks in flight it no longer knows are lost).
  Pool(PoolProxy proxy, std::string name,
       std::function<int64_t()> instance_changes);
  ~Pool();
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  const std::string& name() const { return name_; }

  // Runs one task and waits for its result.
  absl::StatusOr<Value> Apply(const std::string& task, List args = {},
                              mproc::Map kwargs = {}, TaskOptions options = {});
  // Submits one task; `callback` or `error_callback` runs when it ends.
  // Errors of the submission itself (a closed pool, bad arguments) come
  // through the result and error_callback too.
  AsyncResult ApplyAsync(const std::string& task, List args = {},
                         mproc::Map kwargs = {},
                         ResultCallback callback = nullptr,
                         ErrorCallback error_callback = nullptr,
                         TaskOptions options = {});

  // task(item) for every item, results in order; the first failure fails
  // the whole. Items travel and run in chunks of `chunksize` (0: about
  // four chunks per worker process, as Python picks).
  absl::StatusOr<List> Map(const std::string& task, const List& items,
                           int64_t chunksize = 0, TaskOptions options = {});
  // The same without waiting; the result's value is the List.
  AsyncResult MapAsync(const std::string& task, const List& items,
                       int64_t chunksize = 0, ResultCallback callback = nullptr,
                       ErrorCallback error_callback = nullptr,
                       TaskOptions options = {});
  // task(*args) for every argument list in `arg_lists`.
  absl::StatusOr<List> Starmap(const std::string& task, const List& arg_lists,
                               int64_t chunksize = 0, TaskOptions options = {});
  // Lazy maps: results as they come (chunksize 1 by default, as Python).
  ResultIterator Imap(const std::string& task, const List& items,
                      int64_t chunksize = 1, TaskOptions options = {});
  ResultIterator ImapUnordered(const std::string& task, const List& items,
                               int64_t chunksize = 1, TaskOptions options = {});

  // No more submissions (they fail with FAILED_PRECONDITION).
  void Close();
  // Closes, and cancels this Pool's tasks that no worker has started
  // (their results: CANCELLED). Running tasks finish.
  absl::Status Terminate();
  // After Close or Terminate: waits until every submitted task has ended
  // and its callbacks have run. FAILED_PRECONDITION before Close;
  // DEADLINE_EXCEEDED after `timeout`.
  absl::Status Join(absl::Duration timeout = absl::InfiniteDuration());

  // The result of any task of this pool by id — also one submitted by an
  // earlier, vanished client — waiting up to `timeout`. NOT_FOUND if the
  // manager has no such task (or already delivered its result).
  absl::StatusOr<Value> GetResult(
      int64_t task_id, absl::Duration timeout = absl::InfiniteDuration());

  // The manager's view of the pool (workers, queue depth, counters).
  absl::StatusOr<mproc::Map> Status() const { return proxy_.Status(); }

  // Cancels task `task_id`: a queued or scheduled one never runs, a
  // running one's worker process is stopped (and replaced); its result is
  // CANCELLED. Answers the state it was in. Another client's task needs
  // the admin role. FAILED_PRECONDITION if it has finished.
  absl::StatusOr<std::string> Cancel(int64_t task_id);
  // The manager's records of this pool's tasks (any client's), by id:
  // {id, name, state, attempts, worker, submitted, started, finished,
  // args, error, history} (proto/mproc.proto, POOL_TASKS).
  absl::StatusOr<mproc::List> Tasks(const TaskFilter& filter = {}) const;
  // One task's record; NOT_FOUND says whether the id is unknown or its
  // record is gone (kept for the result TTL, the newest only).
  absl::StatusOr<mproc::Map> Task(int64_t task_id) const;
  // Queues a dead letter (a task that failed for good) again as a new task
  // with fresh retries; returns its id (GetResult collects it). Admin.
  absl::StatusOr<int64_t> Requeue(int64_t task_id);
  // The dead letters `task_ids` (all or, if one is not, none), or every
  // one: [[old id, new id], ...].
  absl::StatusOr<mproc::List> RequeueDead(const mproc::List& task_ids);
  absl::StatusOr<mproc::List> RequeueAllDead();

 private:
  // What to do with one task's result, on the receiving thread; task_id is
  // 0 if the task never reached the manager.
  using Handler =
      std::function<void(int64_t task_id, absl::StatusOr<Value> result)>;
  struct Outgoing {
    Value spec;  // encoded TaskSpec
    std::string task;
    Handler handler;
    // An ApplyAsync's result, told its task id once the manager has it.
    std::shared_ptr<pool_internal::ResultState> result;
  };
  struct InFlight {
    std::string task;
    Handler handler;
  };

  // Fills in the spec's timeout, retries, expiry and schedule.
  static void ApplyOptions(const TaskOptions& options, TaskSpec* spec);
  // Queues a task for the sender (or fails it at once if closed); with
  // `send_now`, sends it on this thread if nothing else is queued.
  void Enqueue(TaskSpec spec, Handler handler,
               std::shared_ptr<pool_internal::ResultState> result = nullptr,
               bool send_now = false);
  AsyncResult Submit(const std::string& task, List args, mproc::Map kwargs,
                     ResultCallback callback, ErrorCallback error_callback,
                     const TaskOptions& options, bool send_now);
  absl::StatusOr<std::vector<TaskSpec>> ChunkSpecs(const std::string& task,
                                                   const List& items, bool star,
                                                   int64_t chunksize,
                                                   const TaskOptions& options);
  int64_t DefaultChunksize(size_t items);
  AsyncResult MapAsyncImpl(const std::string& task, const List& items,
                           bool star, int64_t chunksize,
                           ResultCallback callback,
                           ErrorCallback error_callback,
                           const TaskOptions& options);
  ResultIterator ImapImpl(const std::string& task, const List& items,
                          bool ordered, int64_t chunksize,
                          const TaskOptions& options);
  void SendLoop();
  // Submits batch[begin, end), halving it while over the message limit.
  void SendBatch(std::vector<Outgoing>& batch, size_t begin, size_t end);
  void ReceiveLoop();
  // Runs the handler of a finished task, then counts it finished.
  void Deliver(const std::string& task, const Handler& handler,
               const Value& encoded_result);
  void Finish(Outgoing& out, int64_t task_id, const absl::Status& error);
  // Requeues `which` (ids, or "all") into an inbox nobody reads: the
  // results wait there for GetResult, for the result TTL.
  absl::StatusOr<mproc::List> RequeueInto(const Value& which);

  // After a failed read: if the manager restarted meanwhile, fails every
  // task in flight that it does not know any more (its record died with
  // an in-memory manager) instead of waiting for results that cannot
  // come; the tasks a durable manager kept go on waiting.
  void FailLostTasks();
  // Prints the manager's "no connected worker" warning to stderr, once per
  // stretch without workers (an empty warning ends the stretch).
  void WarnOnce(const std::string& warning);

  friend class pool_internal::ForkHook;
  // Around fork(): the receiver's waiting call is answered and no call of
  // this Pool is in flight while the connection closes for the fork.
  void PauseForFork();
  void ResumeAfterFork();

  const PoolProxy proxy_;
  const std::string name_;
  const std::function<int64_t()> instance_changes_;
  int64_t instance_seen_ = 0;  // receiver thread only
  const int64_t inbox_;

  absl::Mutex mu_;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool receiver_done_ ABSL_GUARDED_BY(mu_) = false;
  bool paused_ ABSL_GUARDED_BY(mu_) = false;     // for a fork
  bool receiving_ ABSL_GUARDED_BY(mu_) = false;  // a results call is out
  bool warned_ ABSL_GUARDED_BY(mu_) = false;     // about no workers
  int sending_ ABSL_GUARDED_BY(mu_) = 0;         // submissions in flight
  std::deque<Outgoing> outgoing_ ABSL_GUARDED_BY(mu_);
  // Submitted and not yet ended (handlers not yet run).
  int64_t unfinished_ ABSL_GUARDED_BY(mu_) = 0;
  absl::flat_hash_map<int64_t, InFlight> in_flight_ ABSL_GUARDED_BY(mu_);
  // Results that came before their submission's answer.
  absl::flat_hash_map<int64_t, Value> early_ ABSL_GUARDED_BY(mu_);
  // Heap-held so that a forked child, which has none of these threads,
  // can drop them without joining.
  std::unique_ptr<std::thread> sender_;
  std::unique_ptr<std::thread> receiver_;
  const int64_t fork_generation_;
  std::unique_ptr<pool_internal::ForkHook> fork_hook_;
};

}  // namespace mproc

#endif  // MPROC_CLIENT_POOL_H_
