// PoolObject, worker side: worker_next and worker_stop, handing tasks out,
// completions, re-queueing, lost workers and timeouts (the rules are in
// pool_object.h).
#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/log.h"
#include "server/pool_object.h"

namespace mproc {
namespace {

// The most a worker may say it holds at once, and the most measured work
// beyond that (as `mproc worker` --prefetch and --batch-ms allow).
constexpr int64_t kMaxWorkerPrefetch = 100000;
constexpr int64_t kMaxWorkerBatchUs = 60 * 1000 * 1000;

// The least wait before a timed-out task runs again: past the worker's
// margin for killing the process that ran it (worker_loop.cc, 0.2 s).
constexpr absl::Duration kTimedOutRetryWait = absl::Milliseconds(500);

std::string TextField(const Map& m, const char* key) {
  auto it = m.find(Value(key));
  return it != m.end() && it->second.is_string() ? it->second.string_value()
                                                 : std::string();
}

int64_t IntField(const Map& m, const char* key) {
  auto it = m.find(Value(key));
  return it != m.end() && it->second.is_int() ? it->second.int_value() : 0;
}

}  // namespace

PoolObject::Worker* PoolObject::WorkerFor(const CallContext& call,
                                          const Map& info) {
  auto found = worker_by_sink_.find(call.sink.get());
  if (found != worker_by_sink_.end()) return &workers_[found->second];
  const int64_t id = next_worker_id_++;
  const uint64_t hook =
      call.sink->AddCloseHook(Later(&PoolObject::WorkerGone, id));
  if (hook == 0) return nullptr;  // its stream has ended already
  Worker& worker = workers_[id];
  worker.id = id;
  worker.host = TextField(info, "host");
  worker.pid = IntField(info, "pid");
  // The worker's own word, within what `mproc worker` accepts.
  worker.prefetch =
      std::clamp<int64_t>(IntField(info, "prefetch"), 1, kMaxWorkerPrefetch);
  worker.batch_us =
      std::clamp<int64_t>(IntField(info, "batch_us"), 0, kMaxWorkerBatchUs);
  auto numbered = info.find(Value("handouts"));
  worker.numbered = numbered != info.end() && numbered->second.is_bool() &&
                    numbered->second.bool_value();
  worker.sink = call.sink;
  worker.close_hook = hook;
  worker.since = absl::Now();
  worker_by_sink_[call.sink.get()] = id;
  Log(LogLevel::kInfo, "worker_joined",
      absl::StrCat("worker ", worker.host, ":", worker.pid, " joined ",
                   Describe()),
      {{"pool", name()},
       {"worker", absl::StrCat(worker.host, ":", worker.pid)}});
  return &worker;
}

absl::StatusOr<Value> PoolObject::WorkerNext(const Map& info, List done,
                                             const List& returned,
                                             int64_t max_n,
                                             absl::Duration timeout,
                                             CallContext* call) {
  if (call->sink == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat(
        Describe(), ": workers take tasks on a session (the client library)"));
  }
  for (const Value& result : done) {
    absl::StatusOr<ResultHeader> decoded = PeekResult(result);
    if (!decoded.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          Describe(), ": worker_next: ", decoded.status().message()));
    }
  }
  for (const Value& id : returned) {
    if (!id.is_int()) {
      return absl::InvalidArgumentError(absl::StrCat(
          Describe(), ": worker_next: returned task ids must be ints, got ",
          id.type_name()));
    }
  }
  absl::MutexLock l(&mu_);
  Worker* worker = WorkerFor(*call, info);
  if (worker == nullptr) {
    call->parked = true;  // nobody to answer
    return Value();
  }
  for (Value& result : done) CompleteLocked(*worker, std::move(result));
  std::vector<int64_t> back;
  for (const Value& id : returned) back.push_back(id.int_value());
  RequeueLocked(worker->id, back);
  if (worker->stopping || max_n <= 0) {
    DispatchLocked();
    return Value(List{});
  }
  Waiter waiter;
  waiter.thread = worker->id;
  waiter.count = max_n;
  // Parked even when tasks are queued: Deliver gives them back to the
  // queue if the stream breaks before they are written.
  absl::StatusOr<Value> parked =
      Park(kWorkers, std::move(waiter), timeout, call, "worker_next");
  if (!parked.ok()) return parked;
  DispatchLocked();
  return parked;
}

absl::Status PoolObject::WorkerStop(CallContext* call) {
  absl::MutexLock l(&mu_);
  if (call->sink == nullptr) return absl::OkStatus();
  auto found = worker_by_sink_.find(call->sink.get());
  if (found == worker_by_sink_.end()) return absl::OkStatus();
  Worker& worker = workers_[found->second];
  worker.stopping = true;
  while (std::optional<Waiter> next = PopWaiterOf(kWorkers, worker.id)) {
    next->sink->Deliver(Answer(next->request_id, Value(List{})));
  }
  return absl::OkStatus();
}

List PoolObject::TakeTasksLocked(Worker& worker, int64_t max_n) {
  // A worker holds at most its prefetch — counting what it holds already,
  // so that asking again and again gets it no more. Beyond that it gets
  // tasks whose measured cost fits its batch budget, so cheap tasks travel
  // in batches while no task waits behind more than about a budget of
  // another's (measured) work; and never more than its fair share of the
  // queue, so the other workers get some.
  const int64_t workers =
      std::max<int64_t>(1, static_cast<int64_t>(workers_.size()));
  const int64_t fair =
      (static_cast<int64_t>(queue_.size()) + workers - 1) / workers;
  const int64_t held = static_cast<int64_t>(worker.running.size());
  const int64_t cap =
      std::min<int64_t>(max_n, std::max(worker.prefetch, fair) - held);
  List items;
  double planned_us = 0;
  const absl::Time now = absl::Now();
  while (!queue_.empty() && static_cast<int64_t>(items.size()) < cap) {
    const int64_t id = queue_.Front();
    auto it = tasks_.find(id);
    if (it == tasks_.end()) {
      queue_.PopFront();
      continue;
    }
    Task& task = it->second;
    if (held + static_cast<int64_t>(items.size()) >= worker.prefetch) {
      const double cost = CostLocked(task);
      if (cost < 0 || planned_us + cost > worker.batch_us) break;
      planned_us += cost;
    }
    queue_.PopFront();
    task.worker = worker.id;
    task.attempt = next_attempt_++;
    task.started_at = now;
    if (task.expiry_timer != 0) {  // started: it no longer expires
      timer_->Cancel(task.expiry_timer);
      task.expiry_timer = 0;
      if (log().enabled()) {
        task.started = true;
        log().Write(Describe(), {TaskRecordLocked(id, task)}).IgnoreError();
      }
    }
    worker.running.insert(id);
    ++running_;
    // A worker that predates numbered hand-outs gets the 5-field form.
    items.push_back(EncodeWorkItem(
        id, task.spec,
        worker.numbered ? static_cast<int64_t>(task.attempt) : 0));
    if (task.spec.timeout_seconds > 0) {
      task.timeout_timer =
          timer_->Schedule(now + absl::Seconds(task.spec.timeout_seconds),
                           Later(&PoolObject::TaskTimedOut, id, task.attempt));
    }
  }
  return items;
}

void PoolObject::CancelTimeoutLocked(Task& task) {
  if (task.timeout_timer == 0) return;
  timer_->Cancel(task.timeout_timer);
  task.timeout_timer = 0;
}

void PoolObject::DispatchLocked() {
  while (!queue_.empty() && Waiting(kWorkers) > 0) {
    Waiter next = PopWaiter(kWorkers);
    auto w = workers_.find(next.thread);
    if (w == workers_.end()) continue;
    Worker& worker = w->second;
    if (worker.stopping) {
      next.sink->Deliver(Answer(next.request_id, Value(List{})));
      continue;
    }
    List items = TakeTasksLocked(worker, next.count);
    std::vector<int64_t> ids;
    ids.reserve(items.size());
    for (const Value& item : items)
      ids.push_back(item.list_value()[0].int_value());
    if (!next.sink->Deliver(Answer(next.request_id, Value(std::move(items))),
                            Later(&PoolObject::Requeue, worker.id, ids))) {
      RequeueLocked(worker.id, ids);  // that worker is going: not its fault
    }
  }
}

void PoolObject::Requeue(int64_t worker_id, std::vector<int64_t> task_ids) {
  absl::MutexLock l(&mu_);
  RequeueLocked(worker_id, task_ids);
  DispatchLocked();
}

void PoolObject::RequeueLocked(int64_t worker_id,
                               const std::vector<int64_t>& task_ids) {
  auto w = workers_.find(worker_id);
  for (auto id = task_ids.rbegin(); id != task_ids.rend(); ++id) {
    auto it = tasks_.find(*id);
    if (it == tasks_.end() || it->second.worker != worker_id) continue;
    it->second.worker = 0;
    CancelTimeoutLocked(it->second);
    if (w != workers_.end()) w->second.running.erase(*id);
    --running_;
    queue_.PushFront(*id, it->second.spec.schedule.priority);
  }
}

void PoolObject::CompleteLocked(Worker& worker, Value encoded) {
  absl::StatusOr<ResultHeader> header = PeekResult(encoded);
  if (!header.ok()) return;  // checked by WorkerNext
  const int64_t id = header->task_id;
  auto it = tasks_.find(id);
  if (it == tasks_.end()) {
    ++ignored_;  // finished already: timed out, lost, or a repeat
    return;
  }
  if (it->second.worker != worker.id ||
      (header->attempt != 0 &&
       static_cast<uint64_t>(header->attempt) != it->second.attempt)) {
    // Declared lost from under the worker that ran it (its stream ended:
    // the process was paused or cut off past the keepalive), or timed out,
    // and queued again or handed out again since — to this same worker,
    // too, which the hand-out tells apart: the late completion is refused,
    // so the task has one outcome, its current hand-out's (at-least-once
    // under pauses).
    ++fenced_;
    return;
  }
  if (worker.running.erase(id) > 0) ++worker.done;
  // Kept and passed on without the hand-out: the form every client reads.
  if (encoded.list_value().size() == 6) encoded.mutable_list().pop_back();
  if (header->code == absl::StatusCode::kOk) {
    const Task& task = it->second;
    const std::string key =
        task.spec.chunk ? task.spec.name + "\n[chunk]" : task.spec.name;
    const double sample =
        static_cast<double>(std::max<int64_t>(1, header->run_us));
    auto [cost, fresh] = cost_us_.try_emplace(key, sample);
    if (!fresh) cost->second = 0.8 * cost->second + 0.2 * sample;
  } else if (!it->second.spec.schedule.retry_on.empty()) {
    const TaskError error = PeekResultError(encoded);
    if (RetryLocked(id, it->second, error.type, error.message)) return;
  }
  FinishLocked(id, std::move(encoded), header->code == absl::StatusCode::kOk);
}

void PoolObject::FinishLocked(int64_t task_id, Value encoded, bool succeeded) {
  auto it = tasks_.find(task_id);
  if (it == tasks_.end()) return;
  Task task = std::move(it->second);
  tasks_.erase(it);
  if (task.expiry_timer != 0) timer_->Cancel(task.expiry_timer);
  if (task.due_timer != 0) {
    timer_->Cancel(task.due_timer);
    --scheduled_;
  }
  std::string state = "succeeded";
  std::string error;
  if (!succeeded) {
    const TaskError e = PeekResultError(encoded);
    state = e.type == "Cancelled"    ? "cancelled"
            : e.type == "WorkerLost" ? "lost"
            : e.type == "Expired"    ? "expired"
                                     : "failed";
    error = absl::StrCat(e.type, ": ", e.message);
  }
  // Its timeout entry goes; a running task's hand-out ends here.
  if (task.worker != 0) {
    EndAttemptLocked(task_id, task, error);
  } else {
    CancelTimeoutLocked(task);
  }
  if (succeeded) {
    ++succeeded_;
  } else {
    ++failed_;
  }
  const absl::Time now = absl::Now();
  std::vector<LogChange> changes;
  if (state == "failed" || state == "lost") {
    DeadLetterLocked(task_id, task, error, now, &changes);
  }
  if (log().enabled()) {
    // If this fails the task runs again after a restart: at-least-once.
    changes.push_back(TaskRecordDeleted(task_id));
    changes.push_back(ResultRecord(task_id, task.inbox, encoded, now));
    changes.push_back(CountersRecordLocked());
    log().Write(Describe(), changes).IgnoreError();
  }
  // Waiting Get calls see it too.
  while (std::optional<Waiter> getter = PopWaiterOf(kGetters, task_id)) {
    getter->sink->Deliver(Answer(getter->request_id, encoded));
  }
  const int64_t inbox = task.inbox;
  KeepRecordLocked(task_id, std::move(task), std::move(state), std::move(error),
                   now);
  Inbox& box = inboxes_[inbox];
  --box.pending;
  finished_[task_id] = Finished{inbox, std::move(encoded), now};
  box.ready.push_back(task_id);
  FeedReaderLocked(inbox);
}

void PoolObject::EndAttemptLocked(int64_t task_id, Task& task,
                                  std::string error) {
  if (task.worker == 0) return;
  auto w = workers_.find(task.worker);
  task.attempts.push_back(Attempt{
      task.started_at, absl::Now(),
      w != workers_.end() ? absl::StrCat(w->second.host, ":", w->second.pid)
                          : std::string(),
      std::move(error)});
  if (w != workers_.end()) w->second.running.erase(task_id);
  --running_;
  task.worker = 0;
  CancelTimeoutLocked(task);
}

bool PoolObject::RetryLocked(int64_t task_id, Task& task,
                             const std::string& error_type,
                             const std::string& error) {
  const bool lost = error_type == "WorkerLost";
  if (!lost) {
    // A cancellation or an expiry is final; other errors retry if listed
    // (or "*" lists them all).
    if (error_type == "Cancelled" || error_type == "Expired") return false;
    const std::vector<std::string>& listed = task.spec.schedule.retry_on;
    auto lists = [&](absl::string_view type) {
      return std::find(listed.begin(), listed.end(), type) != listed.end();
    };
    if (!lists(error_type) && !lists("*")) return false;
  }
  // Losses are counted by the caller; this error would be one more.
  if (task.losses + task.error_retries + (lost ? 0 : 1) >
      task.spec.max_retries) {
    return false;
  }
  ++retried_;
  EndAttemptLocked(task_id, task, absl::StrCat(error_type, ": ", error));
  if (lost) {
    // Not its fault: back to the front at once.
    EnqueueLocked(task_id, task, /*front=*/true);
  } else {
    ++task.error_retries;
    const TaskSchedule& s = task.spec.schedule;
    const double full = std::min(
        s.retry_backoff_max,
        s.retry_backoff *
            std::pow(2.0, static_cast<double>(task.error_retries - 1)));
    // Jittered within [full/2, full]: retries of many tasks that failed
    // together spread out, and each wait still grows.
    std::uniform_real_distribution<double> jitter(0.5, 1.0);
    absl::Duration wait = absl::Seconds(full * jitter(jitter_));
    // A timed-out task's process is being killed (within the worker's
    // margin): handed out sooner, the retry could go to that same process
    // and die with it.
    if (error_type == "TimeoutError") wait = std::max(wait, kTimedOutRetryWait);
    task.not_before = absl::Now() + wait;
    EnqueueLocked(task_id, task, /*front=*/false);
  }
  if (log().enabled()) {
    const LogChange changes[] = {TaskRecordLocked(task_id, task),
                                 CountersRecordLocked()};
    log().Write(Describe(), changes).IgnoreError();
  }
  return true;
}

void PoolObject::WorkerGone(int64_t worker_id) {
  absl::MutexLock l(&mu_);
  auto w = workers_.find(worker_id);
  if (w == workers_.end()) return;
  // The worker stays listed while its tasks end, so that their attempts
  // say where they ran.
  const Worker& worker = w->second;
  const std::string host = worker.host;
  const int64_t pid = worker.pid;
  std::vector<int64_t> running(worker.running.begin(), worker.running.end());
  std::sort(running.begin(), running.end());
  Log(running.empty() || worker.stopping ? LogLevel::kInfo : LogLevel::kWarning,
      "worker_left",
      absl::StrCat("worker ", host, ":", pid, " left ", Describe(),
                   running.empty()
                       ? std::string()
                       : absl::StrCat(" while running ", running.size(),
                                      " task(s): lost, retried if they may")),
      {{"pool", name()},
       {"worker", absl::StrCat(host, ":", pid)},
       {"running", static_cast<int64_t>(running.size())}});
  for (auto id = running.rbegin(); id != running.rend(); ++id) {
    auto it = tasks_.find(*id);
    if (it == tasks_.end()) continue;
    Task& task = it->second;
    ++task.losses;
    const std::string message =
        absl::StrCat("worker ", host, ":", pid, " died while running task '",
                     task.spec.name, "' (id ", *id, "), ", task.losses,
                     task.losses == 1 ? " time" : " times");
    if (RetryLocked(*id, task, "WorkerLost", message)) continue;
    ++lost_;
    FailLocked(*id, absl::StatusCode::kAborted, "WorkerLost", message,
               &workers_.at(worker_id));
  }
  w = workers_.find(worker_id);
  worker_by_sink_.erase(w->second.sink.get());
  workers_.erase(w);
  DispatchLocked();
}

void PoolObject::TaskTimedOut(int64_t task_id, uint64_t attempt) {
  absl::MutexLock l(&mu_);
  auto it = tasks_.find(task_id);
  if (it == tasks_.end() || it->second.attempt != attempt ||
      it->second.worker == 0) {
    return;  // finished, or handed out again since
  }
  Task& task = it->second;
  const std::string message =
      absl::StrCat("did not finish within ", task.spec.timeout_seconds,
                   " s; its process is killed");
  if (RetryLocked(task_id, task, "TimeoutError", message)) {
    DispatchLocked();
    return;
  }
  auto w = workers_.find(task.worker);
  const Worker* where = w != workers_.end() ? &w->second : nullptr;
  FailLocked(task_id, absl::StatusCode::kDeadlineExceeded, "TimeoutError",
             message, where);
}

bool PoolObject::WorkerHolds(int64_t task_id, int64_t attempt,
                             const CallContext& call) const {
  absl::MutexLock l(&mu_);
  auto found = worker_by_sink_.find(call.sink.get());
  if (found == worker_by_sink_.end()) return false;
  auto it = tasks_.find(task_id);
  return it != tasks_.end() && it->second.worker == found->second &&
         (attempt == 0 || it->second.attempt == static_cast<uint64_t>(attempt));
}

}  // namespace mproc
