#include "server/pool_object.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace mproc {
namespace {

// How many dead-lettered tasks `status` lists (the count is kept in full).
constexpr size_t kDeadLetterKept = 1000;

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

PoolObject::PoolObject(std::string name, DeadlineTimer* timer,
                       absl::Duration result_ttl)
    : ParkingObject(pb::POOL, std::move(name), timer, kLines),
      result_ttl_(result_ttl) {}

int64_t PoolObject::Size() const {
  absl::MutexLock l(&mu_);
  return static_cast<int64_t>(queue_.size());
}

Map PoolObject::Details() const {
  absl::MutexLock l(&mu_);
  return Map{{"workers", static_cast<int64_t>(workers_.size())},
             {"running", running_},
             {"failed", failed_},
             {"dead_letter", static_cast<int64_t>(dead_letter_.size())}};
}

absl::StatusOr<Value> PoolObject::TimeoutAnswer(int line) const {
  if (line == kGetters) {
    return absl::DeadlineExceededError(
        absl::StrCat(Describe(), ": the task did not finish in time"));
  }
  return Value(List{});  // a worker's or reader's wait: nothing came
}

void PoolObject::FailLocked(int64_t task_id, absl::StatusCode code,
                            std::string type, std::string message,
                            const Worker* where) {
  TaskResult result;
  result.task_id = task_id;
  result.outcome.code = code;
  result.outcome.error = TaskError{std::move(type), std::move(message),
                                   where != nullptr ? where->host : "",
                                   where != nullptr ? where->pid : 0};
  FinishLocked(task_id, EncodeResult(result), /*succeeded=*/false);
}

double PoolObject::CostLocked(const Task& task) const {
  auto it = cost_us_.find(task.spec.chunk ? task.spec.name + "\n[chunk]"
                                          : task.spec.name);
  return it == cost_us_.end() ? -1 : it->second;
}

// --- client side ---

absl::StatusOr<Value> PoolObject::Submit(int64_t inbox, const List& tasks,
                                         CallContext* call) {
  std::vector<TaskEnvelope> specs;
  specs.reserve(tasks.size());
  for (size_t i = 0; i < tasks.size(); ++i) {
    absl::StatusOr<TaskEnvelope> spec = DecodeTaskEnvelope(tasks[i]);
    if (!spec.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          Describe(), ": task ", i + 1, " of submit: ", spec.status().message()));
    }
    specs.push_back(*std::move(spec));
  }
  absl::MutexLock l(&mu_);
  const int64_t first = next_task_id_;
  AttachInboxLocked(inbox, *call);
  Inbox& box = inboxes_[inbox];
  for (TaskEnvelope& spec : specs) {
    const int64_t id = next_task_id_++;
    Task& task = tasks_[id];
    task.spec = std::move(spec);
    task.inbox = inbox;
    queue_.push_back(id);
    ++box.pending;
  }
  DispatchLocked();
  return Value(first);
}

void PoolObject::AttachInboxLocked(int64_t inbox, const CallContext& call) {
  Inbox& box = inboxes_[inbox];
  if (call.session == nullptr) {
    // No session (a unary call): nobody will read the inbox by stream.
    if (box.session == nullptr && !box.orphaned) OrphanInboxLocked(inbox);
    return;
  }
  if (box.session == call.session) return;
  if (box.session != nullptr) box.session->RemoveHoldHook(box.hold_hook);
  box.session = call.session;
  box.orphaned = false;
  const uint64_t serial = next_attempt_++;
  box.hold_serial = serial;
  box.hold_hook =
      call.session->AddHoldHook(Later(&PoolObject::Orphan, inbox, serial));
}

void PoolObject::Orphan(int64_t inbox, uint64_t serial) {
  absl::MutexLock l(&mu_);
  auto it = inboxes_.find(inbox);
  if (it == inboxes_.end() || it->second.hold_serial != serial) return;
  it->second.session = nullptr;
  OrphanInboxLocked(inbox);
}

void PoolObject::OrphanInboxLocked(int64_t inbox) {
  Inbox& box = inboxes_[inbox];
  if (box.orphaned) return;
  box.orphaned = true;
  timer_->Schedule(absl::Now() + result_ttl_, Later(&PoolObject::Purge, inbox));
}

void PoolObject::Purge(int64_t inbox) {
  absl::MutexLock l(&mu_);
  auto it = inboxes_.find(inbox);
  if (it == inboxes_.end() || !it->second.orphaned) return;
  Inbox& box = it->second;
  const absl::Time cutoff = absl::Now() - result_ttl_;
  while (!box.ready.empty()) {
    auto f = finished_.find(box.ready.front());
    if (f != finished_.end() && f->second.at > cutoff) break;
    if (f != finished_.end()) {
      finished_.erase(f);
      ++expired_;
    }
    box.ready.pop_front();
  }
  if (box.ready.empty() && box.pending == 0) {
    inboxes_.erase(it);
    return;
  }
  // Results still young, or tasks still to finish: look again later.
  absl::Time next = absl::Now() + result_ttl_;
  if (!box.ready.empty()) {
    auto f = finished_.find(box.ready.front());
    if (f != finished_.end()) next = f->second.at + result_ttl_;
  }
  timer_->Schedule(next, Later(&PoolObject::Purge, inbox));
}

List PoolObject::TakeReadyLocked(Inbox& box, int64_t max_n) {
  List out;
  while (!box.ready.empty() && static_cast<int64_t>(out.size()) < max_n) {
    auto f = finished_.find(box.ready.front());
    box.ready.pop_front();
    if (f == finished_.end()) continue;  // taken meanwhile
    out.push_back(std::move(f->second.result));
    finished_.erase(f);
  }
  return out;
}

void PoolObject::Undeliver(int64_t inbox, List results) {
  absl::MutexLock l(&mu_);
  Inbox& box = inboxes_[inbox];
  const absl::Time now = absl::Now();
  for (auto it = results.rbegin(); it != results.rend(); ++it) {
    const int64_t id = it->list_value()[0].int_value();
    finished_[id] = Finished{inbox, std::move(*it), now};
    box.ready.push_front(id);
  }
  FeedReaderLocked(inbox);
}

void PoolObject::FeedReaderLocked(int64_t inbox) {
  Inbox& box = inboxes_[inbox];
  while (!box.ready.empty()) {
    std::optional<Waiter> reader = PopWaiterOf(kReaders, inbox);
    if (!reader.has_value()) return;
    List results = TakeReadyLocked(box, reader->count);
    if (results.empty()) return;
    // Lost in a broken stream, the results come back to the inbox.
    Value answer(std::move(results));
    if (reader->sink->Deliver(
            Answer(reader->request_id, answer),
            Later(&PoolObject::Undeliver, inbox, answer.list_value()))) {
      return;
    }
    // That reader is gone: the results stay for the next.
    const absl::Time now = absl::Now();
    List& back = answer.mutable_list();
    for (auto it = back.rbegin(); it != back.rend(); ++it) {
      const int64_t id = it->list_value()[0].int_value();
      finished_[id] = Finished{inbox, std::move(*it), now};
      box.ready.push_front(id);
    }
  }
}

absl::StatusOr<Value> PoolObject::Results(int64_t inbox, int64_t max_n,
                                          absl::Duration timeout,
                                          CallContext* call) {
  absl::MutexLock l(&mu_);
  if (call->sink == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat(
        Describe(), ": results are read on a session (the client library)"));
  }
  AttachInboxLocked(inbox, *call);
  Waiter waiter;
  waiter.thread = inbox;
  waiter.count = max_n;
  // Parked even when results are ready: the answer then goes out through
  // Deliver at once, which gives them back if the stream breaks.
  absl::StatusOr<Value> parked =
      Park(kReaders, std::move(waiter), timeout, call, "results");
  if (!parked.ok()) return parked;
  FeedReaderLocked(inbox);
  return parked;
}

absl::StatusOr<Value> PoolObject::Get(int64_t task_id, absl::Duration timeout,
                                      CallContext* call) {
  absl::MutexLock l(&mu_);
  if (auto f = finished_.find(task_id); f != finished_.end()) {
    return f->second.result;
  }
  if (!tasks_.contains(task_id)) {
    return absl::NotFoundError(absl::StrCat(
        Describe(), ": no task ", task_id,
        " (unknown, or its result was already delivered or expired)"));
  }
  if (timeout <= absl::ZeroDuration()) return TimeoutAnswer(kGetters);
  Waiter waiter;
  waiter.thread = task_id;
  return Park(kGetters, std::move(waiter), timeout, call, "get");
}

int64_t PoolObject::Cancel(int64_t inbox) {
  absl::MutexLock l(&mu_);
  std::vector<int64_t> cancelled;
  std::deque<int64_t> kept;
  for (int64_t id : queue_) {
    auto it = tasks_.find(id);
    if (it != tasks_.end() && it->second.inbox == inbox) {
      cancelled.push_back(id);
    } else {
      kept.push_back(id);
    }
  }
  queue_.swap(kept);
  for (int64_t id : cancelled) {
    FailLocked(id, absl::StatusCode::kCancelled, "Cancelled",
               "cancelled by terminate() before it ran", nullptr);
  }
  return static_cast<int64_t>(cancelled.size());
}

void PoolObject::Detach(int64_t inbox) {
  absl::MutexLock l(&mu_);
  auto it = inboxes_.find(inbox);
  if (it == inboxes_.end()) return;
  while (std::optional<Waiter> reader = PopWaiterOf(kReaders, inbox)) {
    reader->sink->Deliver(Answer(reader->request_id, Value(List{})));
  }
  Inbox& box = it->second;
  if (box.session != nullptr) {
    box.session->RemoveHoldHook(box.hold_hook);
    box.session = nullptr;
  }
  OrphanInboxLocked(inbox);
}

Value PoolObject::Status() const {
  absl::MutexLock l(&mu_);
  List workers;
  std::vector<const Worker*> sorted;
  for (const auto& [id, worker] : workers_) sorted.push_back(&worker);
  std::sort(sorted.begin(), sorted.end(),
            [](const Worker* a, const Worker* b) { return a->id < b->id; });
  const absl::Time now = absl::Now();
  for (const Worker* w : sorted) {
    workers.push_back(Map{
        {"id", w->id},
        {"host", w->host},
        {"pid", w->pid},
        {"state", w->stopping          ? "stopping"
                  : w->running.empty() ? "idle"
                                       : "busy"},
        {"running", static_cast<int64_t>(w->running.size())},
        {"done", w->done},
        {"connected_seconds", absl::ToDoubleSeconds(now - w->since)},
    });
  }
  List dead(dead_letter_.begin(), dead_letter_.end());
  int64_t results_waiting = static_cast<int64_t>(finished_.size());
  return Value(Map{
      {"pool", name()},
      {"workers", std::move(workers)},
      {"queued", static_cast<int64_t>(queue_.size())},
      {"running", running_},
      {"succeeded", succeeded_},
      {"failed", failed_},
      {"lost", lost_},
      {"retried", retried_},
      {"ignored_completions", ignored_},
      {"results_waiting", results_waiting},
      {"results_expired", expired_},
      {"dead_letter", std::move(dead)},
  });
}

// --- worker side ---

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
  worker.prefetch = std::max<int64_t>(1, IntField(info, "prefetch"));
  worker.batch_us = std::max<int64_t>(0, IntField(info, "batch_us"));
  worker.sink = call.sink;
  worker.close_hook = hook;
  worker.since = absl::Now();
  worker_by_sink_[call.sink.get()] = id;
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
  // A worker always gets up to its prefetch. Beyond that it gets tasks
  // whose measured cost fits its batch budget, so cheap tasks travel in
  // batches while no task waits behind more than about a budget of
  // another's (measured) work; and never more than its fair share of the
  // queue, so the other workers get some.
  const int64_t workers = std::max<int64_t>(1, static_cast<int64_t>(workers_.size()));
  const int64_t fair = (static_cast<int64_t>(queue_.size()) + workers - 1) / workers;
  const int64_t cap = std::min<int64_t>(max_n, std::max(worker.prefetch, fair));
  List items;
  double planned_us = 0;
  const absl::Time now = absl::Now();
  while (!queue_.empty() && static_cast<int64_t>(items.size()) < cap) {
    const int64_t id = queue_.front();
    auto it = tasks_.find(id);
    if (it == tasks_.end()) {
      queue_.pop_front();
      continue;
    }
    Task& task = it->second;
    if (static_cast<int64_t>(items.size()) >= worker.prefetch) {
      const double cost = CostLocked(task);
      if (cost < 0 || planned_us + cost > worker.batch_us) break;
      planned_us += cost;
    }
    queue_.pop_front();
    task.worker = worker.id;
    task.attempt = next_attempt_++;
    worker.running.insert(id);
    ++running_;
    items.push_back(EncodeWorkItem(id, task.spec));
    if (task.spec.timeout_seconds > 0) {
      timer_->Schedule(now + absl::Seconds(task.spec.timeout_seconds),
                       Later(&PoolObject::TaskTimedOut, id, task.attempt));
    }
  }
  return items;
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
    for (const Value& item : items) ids.push_back(item.list_value()[0].int_value());
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
    if (w != workers_.end()) w->second.running.erase(*id);
    --running_;
    queue_.push_front(*id);
  }
}

void PoolObject::CompleteLocked(Worker& worker, Value encoded) {
  absl::StatusOr<ResultHeader> header = PeekResult(encoded);
  if (!header.ok()) return;  // checked by WorkerNext
  const int64_t id = header->task_id;
  if (worker.running.erase(id) > 0) ++worker.done;
  auto it = tasks_.find(id);
  if (it == tasks_.end()) {
    ++ignored_;  // finished already: timed out, lost, or a repeat
    return;
  }
  if (header->code == absl::StatusCode::kOk) {
    const Task& task = it->second;
    const std::string key =
        task.spec.chunk ? task.spec.name + "\n[chunk]" : task.spec.name;
    const double sample = static_cast<double>(std::max<int64_t>(1, header->run_us));
    auto [cost, fresh] = cost_us_.try_emplace(key, sample);
    if (!fresh) cost->second = 0.8 * cost->second + 0.2 * sample;
  }
  if (it->second.worker == 0) {
    // Queued again after its worker's stream broke, and yet it completed:
    // the first terminal state wins.
    queue_.erase(std::find(queue_.begin(), queue_.end(), id));
  }
  FinishLocked(id, std::move(encoded), header->code == absl::StatusCode::kOk);
}

void PoolObject::FinishLocked(int64_t task_id, Value encoded, bool succeeded) {
  auto it = tasks_.find(task_id);
  if (it == tasks_.end()) return;
  Task task = std::move(it->second);
  tasks_.erase(it);
  if (task.worker != 0) {
    --running_;
    if (auto w = workers_.find(task.worker); w != workers_.end()) {
      w->second.running.erase(task_id);
    }
  }
  if (succeeded) {
    ++succeeded_;
  } else {
    ++failed_;
  }
  // Waiting Get calls see it too.
  while (std::optional<Waiter> getter = PopWaiterOf(kGetters, task_id)) {
    getter->sink->Deliver(Answer(getter->request_id, encoded));
  }
  Inbox& box = inboxes_[task.inbox];
  --box.pending;
  finished_[task_id] = Finished{task.inbox, std::move(encoded), absl::Now()};
  box.ready.push_back(task_id);
  FeedReaderLocked(task.inbox);
}

void PoolObject::WorkerGone(int64_t worker_id) {
  absl::MutexLock l(&mu_);
  auto w = workers_.find(worker_id);
  if (w == workers_.end()) return;
  Worker worker = std::move(w->second);
  workers_.erase(w);
  worker_by_sink_.erase(worker.sink.get());
  std::vector<int64_t> running(worker.running.begin(), worker.running.end());
  std::sort(running.begin(), running.end());
  for (auto id = running.rbegin(); id != running.rend(); ++id) {
    auto it = tasks_.find(*id);
    if (it == tasks_.end()) continue;
    Task& task = it->second;
    ++task.losses;
    if (task.losses <= task.spec.max_retries) {
      ++retried_;
      --running_;
      task.worker = 0;
      queue_.push_front(*id);
      continue;
    }
    ++lost_;
    const std::string message = absl::StrCat(
        "worker ", worker.host, ":", worker.pid, " died while running task '",
        task.spec.name, "' (id ", *id, "), ", task.losses,
        task.losses == 1 ? " time" : " times");
    dead_letter_.push_back(Map{{"task_id", *id},
                               {"name", task.spec.name},
                               {"losses", task.losses},
                               {"error", message}});
    if (dead_letter_.size() > kDeadLetterKept) dead_letter_.pop_front();
    task.worker = 0;
    --running_;
    FailLocked(*id, absl::StatusCode::kAborted, "WorkerLost", message, &worker);
  }
  DispatchLocked();
}

void PoolObject::TaskTimedOut(int64_t task_id, uint64_t attempt) {
  absl::MutexLock l(&mu_);
  auto it = tasks_.find(task_id);
  if (it == tasks_.end() || it->second.attempt != attempt ||
      it->second.worker == 0) {
    return;  // finished, or handed out again since
  }
  const Task& task = it->second;
  auto w = workers_.find(task.worker);
  const Worker* where = w != workers_.end() ? &w->second : nullptr;
  FailLocked(task_id, absl::StatusCode::kDeadlineExceeded, "TimeoutError",
             absl::StrCat("did not finish within ", task.spec.timeout_seconds,
                          " s; its process is killed"),
             where);
}

}  // namespace mproc
