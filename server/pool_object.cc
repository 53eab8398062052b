#include "server/pool_object.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/value_codec.h"
#include "server/errors.h"

namespace mproc {
namespace {

constexpr char kTaskTag = 't';
constexpr char kResultTag = 'r';
constexpr char kDeadLetterTag = 'x';
constexpr char kNextIdKey[] = "n";
constexpr char kCountersKey[] = "c";

double UnixSeconds(absl::Time t) {
  return absl::ToDoubleSeconds(t - absl::UnixEpoch());
}

absl::Time FromUnixSeconds(double seconds) {
  return absl::UnixEpoch() + absl::Seconds(seconds);
}

// When a task submitted at `submitted` may first be handed out.
absl::Time NotBefore(const TaskEnvelope& spec, absl::Time submitted) {
  absl::Time t = submitted + absl::Seconds(spec.schedule.delay_seconds);
  if (spec.schedule.eta_unix > 0) {
    t = std::max(t, FromUnixSeconds(spec.schedule.eta_unix));
  }
  return t;
}

std::string ResultKey(int64_t id) {
  return SequenceKey(kResultTag, static_cast<uint64_t>(id));
}

std::string TaskKey(int64_t id) {
  return SequenceKey(kTaskTag, static_cast<uint64_t>(id));
}

}  // namespace

LogChange PoolObject::ResultRecord(int64_t id, int64_t inbox,
                                   const Value& encoded, absl::Time at) {
  return LogChange::Put(
      ResultKey(id),
      EncodeRecord(Value(List{inbox, encoded, UnixSeconds(at)})));
}

std::string PoolObject::DeadLetterKey(uint64_t seq) {
  return SequenceKey(kDeadLetterTag, seq);
}

LogChange PoolObject::DeadLetterRecord(uint64_t seq, const Value& entry) {
  return LogChange::Put(DeadLetterKey(seq), EncodeRecord(entry));
}

LogChange PoolObject::TaskRecordDeleted(int64_t id) {
  return LogChange::Delete(TaskKey(id));
}

PoolObject::PoolObject(std::string name, DeadlineTimer* timer,
                       absl::Duration result_ttl, int64_t max_records)
    : ParkingObject(pb::POOL, std::move(name), timer, kLines,
                    /*keyed_by_thread=*/true),
      result_ttl_(result_ttl),
      max_records_(max_records) {}

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
      return absl::InvalidArgumentError(
          absl::StrCat(Describe(), ": task ", i + 1,
                       " of submit: ", spec.status().message()));
    }
    specs.push_back(*std::move(spec));
  }
  absl::MutexLock l(&mu_);
  const int64_t first = next_task_id_;
  const absl::Time now = absl::Now();
  std::vector<Task> fresh(specs.size());
  for (size_t i = 0; i < specs.size(); ++i) {
    fresh[i].spec = std::move(specs[i]);
    fresh[i].inbox = inbox;
    fresh[i].submitted = now;
    fresh[i].not_before = NotBefore(fresh[i].spec, now);
  }
  absl::StatusOr<int64_t> added =
      AddTasksLocked(inbox, std::move(fresh), {}, *call);
  if (!added.ok()) return added.status();
  if (workers_.empty()) {
    return Value(List{
        first,
        absl::StrCat(Describe(), " has no connected worker: ", specs.size(),
                     " task(s) wait until one connects (start one "
                     "with `mproc worker --pool ",
                     name(), "`), or expire")});
  }
  return Value(first);
}

absl::StatusOr<int64_t> PoolObject::AddTasksLocked(
    int64_t inbox, std::vector<Task> fresh, std::vector<LogChange> changes,
    const CallContext& call) {
  const int64_t first = next_task_id_;
  if (log().enabled()) {
    changes.reserve(changes.size() + fresh.size() + 1);
    for (size_t i = 0; i < fresh.size(); ++i) {
      changes.push_back(
          TaskRecordLocked(first + static_cast<int64_t>(i), fresh[i]));
    }
    changes.push_back(LogChange::Put(
        kNextIdKey,
        EncodeRecord(Value(first + static_cast<int64_t>(fresh.size())))));
    if (absl::Status s = log().Write(Describe(), changes); !s.ok()) return s;
  }
  AttachInboxLocked(inbox, call);
  Inbox& box = inboxes_[inbox];
  for (Task& added : fresh) {
    const int64_t id = next_task_id_++;
    Task& task = tasks_[id];
    task = std::move(added);
    if (task.spec.expires_seconds > 0) {
      task.expiry_timer = timer_->Schedule(
          task.submitted + absl::Seconds(task.spec.expires_seconds),
          Later(&PoolObject::TaskExpired, id));
    }
    EnqueueLocked(id, task, /*front=*/false);
    ++box.pending;
  }
  DispatchLocked();
  return first;
}

void PoolObject::EnqueueLocked(int64_t task_id, Task& task, bool front) {
  if (task.not_before > absl::Now()) {
    if (task.due_timer != 0) {
      timer_->Cancel(task.due_timer);
    } else {
      ++scheduled_;
    }
    task.due_timer =
        timer_->Schedule(task.not_before, Later(&PoolObject::TaskDue, task_id));
    return;
  }
  if (front) {
    queue_.PushFront(task_id, task.spec.schedule.priority);
  } else {
    queue_.PushBack(task_id, task.spec.schedule.priority);
  }
}

void PoolObject::TaskDue(int64_t task_id) {
  absl::MutexLock l(&mu_);
  auto it = tasks_.find(task_id);
  // A firing that lost a race with Cancel finds the task gone or queued.
  if (it == tasks_.end() || it->second.due_timer == 0) return;
  it->second.due_timer = 0;
  --scheduled_;
  EnqueueLocked(task_id, it->second, /*front=*/false);  // again if early
  DispatchLocked();
}

void PoolObject::TaskExpired(int64_t task_id) {
  absl::MutexLock l(&mu_);
  auto it = tasks_.find(task_id);
  if (it == tasks_.end() || it->second.worker != 0) return;
  it->second.expiry_timer = 0;  // this entry has run
  // Its queue entry is skipped once the task is gone.
  FailLocked(
      task_id, absl::StatusCode::kDeadlineExceeded, "Expired",
      absl::StrCat("no worker started it within ",
                   it->second.spec.expires_seconds, " s of its submission"),
      nullptr);
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
  std::vector<LogChange> dropped;
  while (!box.ready.empty()) {
    auto f = finished_.find(box.ready.front());
    if (f != finished_.end() && f->second.at > cutoff) break;
    if (f != finished_.end()) {
      if (log().enabled())
        dropped.push_back(LogChange::Delete(ResultKey(f->first)));
      finished_.erase(f);
      ++expired_;
    }
    box.ready.pop_front();
  }
  if (!dropped.empty()) {
    dropped.push_back(CountersRecordLocked());
    log().Write(Describe(), dropped).IgnoreError();  // dropped again at start
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
    std::shared_ptr<HandedOverRecords> records =
        HandOverResultsLocked(answer.list_value());
    if (reader->sink->Deliver(Answer(reader->request_id, answer),
                              HandedOverRecords::GiveBack(
                                  records, Later(&PoolObject::Undeliver, inbox,
                                                 answer.list_value())))) {
      return;
    }
    if (records != nullptr) records->Cancel();
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
    if (auto r = records_.find(task_id); r != records_.end()) {
      return absl::NotFoundError(absl::StrCat(
          Describe(), ": task ", task_id, " ", r->second.state,
          " and its result was already delivered (or dropped by the TTL)"));
    }
    return absl::NotFoundError(absl::StrCat(
        Describe(), ": no task ", task_id,
        task_id >= 1 && task_id < next_task_id_
            ? " any more: its record is gone (finished tasks are kept for the "
              "result TTL, and only the newest)"
            : " (unknown id)"));
  }
  if (timeout <= absl::ZeroDuration()) return TimeoutAnswer(kGetters);
  Waiter waiter;
  waiter.thread = task_id;
  return Park(kGetters, std::move(waiter), timeout, call, "get");
}

int64_t PoolObject::Cancel(int64_t inbox) {
  absl::MutexLock l(&mu_);
  absl::flat_hash_set<int64_t> queued;  // the inbox's, not scheduled
  std::vector<int64_t> cancelled;
  for (const auto& [id, task] : tasks_) {
    if (task.inbox != inbox || task.worker != 0) continue;
    if (task.due_timer != 0) {
      cancelled.push_back(id);
    } else {
      queued.insert(id);
    }
  }
  std::vector<int64_t> in_order =
      queue_.RemoveIf([&queued](int64_t id) { return queued.contains(id); });
  cancelled.insert(cancelled.begin(), in_order.begin(), in_order.end());
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

Value PoolObject::Status(bool show_commands) const {
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
  List dead;
  dead.reserve(dead_letter_.size());
  for (const auto& [seq, entry] : dead_letter_) {
    dead.push_back(DeadLetterView(entry, show_commands));
  }
  int64_t results_waiting = static_cast<int64_t>(finished_.size());
  return Value(Map{
      {"pool", name()},
      {"workers", std::move(workers)},
      {"queued", static_cast<int64_t>(queue_.size())},
      {"scheduled", scheduled_},
      {"running", running_},
      {"succeeded", succeeded_},
      {"failed", failed_},
      {"lost", lost_},
      {"retried", retried_},
      {"ignored_completions", ignored_},
      {"fenced_completions", fenced_},
      {"results_waiting", results_waiting},
      {"results_expired", expired_},
      {"durable", log().enabled()},
      {"recovered_tasks", recovered_tasks_},
      {"recovered_results", recovered_results_},
      {"dead_letter", std::move(dead)},
  });
}

// --- durability ---

LogChange PoolObject::TaskRecordLocked(int64_t id, const Task& task) const {
  List attempts;
  attempts.reserve(task.attempts.size());
  for (const Attempt& a : task.attempts) {
    attempts.push_back(
        List{UnixSeconds(a.started), UnixSeconds(a.ended), a.worker, a.error});
  }
  return LogChange::Put(
      TaskKey(id),
      EncodeRecord(Value(
          List{task.inbox, task.losses, UnixSeconds(task.submitted),
               EncodeTaskEnvelope(task.spec), task.started, task.error_retries,
               std::move(attempts), UnixSeconds(task.not_before)})));
}

LogChange PoolObject::CountersRecordLocked() const {
  return LogChange::Put(
      kCountersKey,
      EncodeRecord(Value(List{succeeded_, failed_, lost_, retried_, ignored_,
                              fenced_, expired_})));
}

std::shared_ptr<HandedOverRecords> PoolObject::HandOverResultsLocked(
    const List& results) const {
  if (!log().enabled()) return nullptr;
  std::vector<std::string> keys;
  keys.reserve(results.size());
  for (const Value& result : results) {
    keys.push_back(ResultKey(result.list_value()[0].int_value()));
  }
  return std::make_shared<HandedOverRecords>(log(), Describe(),
                                             std::move(keys));
}

absl::Status PoolObject::Restore(absl::string_view key,
                                 absl::string_view value) {
  absl::StatusOr<Value> v = DecodeValue(value);
  auto damaged = [&](absl::string_view what) {
    return absl::DataLossError(
        absl::StrCat(Describe(), ": its record of ", what, " is damaged"));
  };
  if (!v.ok()) return damaged("a key");
  absl::MutexLock l(&mu_);
  uint64_t n = 0;
  if (key == kNextIdKey) {
    if (!v->is_int()) return damaged("the next task id");
    next_task_id_ = std::max(next_task_id_, v->int_value());
    return absl::OkStatus();
  }
  if (key == kCountersKey) {
    if (!v->is_list() || v->list_value().size() != 7) {
      return damaged("its counters");
    }
    int64_t* counters[] = {&succeeded_, &failed_, &lost_,   &retried_,
                           &ignored_,   &fenced_, &expired_};
    for (size_t i = 0; i < 7; ++i) {
      const Value& c = v->list_value()[i];
      *counters[i] = c.is_int() ? c.int_value() : 0;
    }
    return absl::OkStatus();
  }
  if (ParseSequenceKey(key, kTaskTag, &n)) {
    // [inbox, losses, submitted (unix s), task, started, error retries,
    // attempts [[started, ended, worker, error], ...], not before (unix
    // s)]; records of an older manager lack the last one, or three.
    const auto id = static_cast<int64_t>(n);
    const size_t fields = v->is_list() ? v->list_value().size() : 0;
    if ((fields != 5 && fields != 7 && fields != 8) ||
        !v->list_value()[0].is_int() || !v->list_value()[1].is_int() ||
        !v->list_value()[2].is_double() || !v->list_value()[4].is_bool() ||
        (fields >= 7 &&
         (!v->list_value()[5].is_int() || !v->list_value()[6].is_list())) ||
        (fields == 8 && !v->list_value()[7].is_double())) {
      return damaged(absl::StrCat("task ", id));
    }
    const List& f = v->list_value();
    absl::StatusOr<TaskEnvelope> spec = DecodeTaskEnvelope(f[3]);
    if (!spec.ok()) return damaged(absl::StrCat("task ", id));
    Task& task = tasks_[id];
    task.spec = *std::move(spec);
    task.inbox = f[0].int_value();
    task.losses = f[1].int_value();
    task.submitted = FromUnixSeconds(f[2].double_value());
    task.started = f[4].bool_value();
    if (fields >= 7) {
      task.error_retries = f[5].int_value();
      for (const Value& a : f[6].list_value()) {
        if (!a.is_list() || a.list_value().size() != 4 ||
            !a.list_value()[0].is_double() || !a.list_value()[1].is_double() ||
            !a.list_value()[2].is_string() || !a.list_value()[3].is_string()) {
          return damaged(absl::StrCat("the attempts of task ", id));
        }
        const List& af = a.list_value();
        task.attempts.push_back(Attempt{FromUnixSeconds(af[0].double_value()),
                                        FromUnixSeconds(af[1].double_value()),
                                        af[2].string_value(),
                                        af[3].string_value()});
      }
    }
    // Restored queues it, or schedules it for a countdown, eta or retry
    // backoff still ahead.
    task.not_before = fields == 8 ? FromUnixSeconds(f[7].double_value())
                                  : NotBefore(task.spec, task.submitted);
    ++inboxes_[task.inbox].pending;
    ++recovered_tasks_;
    next_task_id_ = std::max(next_task_id_, id + 1);
    return absl::OkStatus();
  }
  if (ParseSequenceKey(key, kResultTag, &n)) {
    const auto id = static_cast<int64_t>(n);
    if (!v->is_list() || v->list_value().size() != 3 ||
        !v->list_value()[0].is_int() || !v->list_value()[2].is_double() ||
        !PeekResult(v->list_value()[1]).ok()) {
      return damaged(absl::StrCat("the result of task ", id));
    }
    List& f = v->mutable_list();
    const int64_t inbox = f[0].int_value();
    finished_[id] =
        Finished{inbox, std::move(f[1]), FromUnixSeconds(f[2].double_value())};
    inboxes_[inbox].ready.push_back(id);
    next_task_id_ = std::max(next_task_id_, id + 1);
    ++recovered_results_;
    return absl::OkStatus();
  }
  if (ParseSequenceKey(key, kDeadLetterTag, &n)) {
    log().SawSequence(n);
    dead_letter_.emplace_back(n, *std::move(v));
    return absl::OkStatus();
  }
  return BadRecord(*this, key);
}

void PoolObject::Restored() {
  absl::MutexLock l(&mu_);
  // Nobody reads the inboxes yet: their TTL starts now.
  std::vector<int64_t> inboxes;
  for (const auto& [inbox, box] : inboxes_) inboxes.push_back(inbox);
  for (int64_t inbox : inboxes) OrphanInboxLocked(inbox);
  // Queued (or scheduled) in id order, the submission order, each decided
  // once, so none falls due between two looks at the clock.
  std::vector<int64_t> ids;
  ids.reserve(tasks_.size());
  for (const auto& [id, task] : tasks_) ids.push_back(id);
  std::sort(ids.begin(), ids.end());
  for (int64_t id : ids) EnqueueLocked(id, tasks_[id], /*front=*/false);
  const absl::Time now = absl::Now();
  for (auto& [id, task] : tasks_) {
    if (task.spec.expires_seconds <= 0 || task.started) continue;
    task.expiry_timer = timer_->Schedule(
        std::max(now,
                 task.submitted + absl::Seconds(task.spec.expires_seconds)),
        Later(&PoolObject::TaskExpired, id));
  }
}

}  // namespace mproc
