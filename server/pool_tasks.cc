// PoolObject, finding and steering tasks: their records (tasks, task),
// cancel by id, dead letters and requeue (the rules are in pool_object.h).
#include <algorithm>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/log.h"
#include "common/value_codec.h"
#include "server/pool_object.h"

namespace mproc {
namespace {

// How many dead-lettered tasks are kept and listed (the count of failures
// is kept in full).
constexpr size_t kDeadLetterKept = 1000;
// A finished task's record keeps its arguments (for their summary) up to
// this size.
constexpr size_t kRecordPayloadBytes = 512;
// The most characters an argument summary shows.
constexpr size_t kSummaryChars = 80;
// `tasks` answers at most this many records unless asked for more.
constexpr int64_t kDefaultListed = 100;

double UnixSeconds(absl::Time t) {
  return absl::ToDoubleSeconds(t - absl::UnixEpoch());
}

// The arguments of a task, shortly: "[7, \"x\"] {\"k\": 1}", "a chunk of
// 40 calls", or "(N bytes)" when they are not kept. A command line (of the
// exec task) only if `show_commands`.
std::string ArgsSummary(const TaskEnvelope& spec, size_t payload_bytes,
                        bool show_commands) {
  if (spec.name == "exec" && !show_commands) {
    return "(a command: shown to the admin and exec roles)";
  }
  if (spec.payload.empty() && payload_bytes > 0) {
    return absl::StrCat("(", payload_bytes, " bytes)");
  }
  absl::StatusOr<Value> payload = DecodeValue(spec.payload);
  if (!payload.ok() || !payload->is_list() ||
      payload->list_value().size() < 2) {
    return "(unreadable)";
  }
  const List& parts = payload->list_value();
  std::string text;
  if (spec.chunk && parts[0].is_list()) {
    text = absl::StrCat("a chunk of ", parts[0].list_value().size(), " calls");
  } else {
    text = parts[0].ToJson();
    if (parts[1].is_map() && !parts[1].map_value().empty()) {
      absl::StrAppend(&text, " ", parts[1].ToJson());
    }
  }
  if (text.size() > kSummaryChars) {
    text.resize(kSummaryChars - 3);
    text += "...";
  }
  return text;
}

template <typename AttemptT>
List AttemptList(const std::vector<AttemptT>& attempts) {
  List out;
  out.reserve(attempts.size());
  for (const AttemptT& a : attempts) {
    Map m{{"started", UnixSeconds(a.started)},
          {"finished", UnixSeconds(a.ended)},
          {"worker", a.worker}};
    if (!a.error.empty()) m[Value("error")] = a.error;
    out.push_back(std::move(m));
  }
  return out;
}

}  // namespace

std::string PoolObject::StateLocked(const Task& task) const {
  if (task.worker != 0) return "running";
  if (task.due_timer != 0) return "scheduled";
  return "queued";
}

Map PoolObject::TaskInfoLocked(int64_t task_id, const Task& task,
                               bool show_commands) const {
  Map m{
      {"id", task_id},
      {"name", task.spec.name},
      {"state", StateLocked(task)},
      {"priority", task.spec.schedule.priority},
      {"attempts",
       static_cast<int64_t>(task.attempts.size()) + (task.worker ? 1 : 0)},
      {"submitted", UnixSeconds(task.submitted)},
      {"args", ArgsSummary(task.spec, task.spec.payload.size(), show_commands)},
      {"history", AttemptList(task.attempts)}};
  if (task.worker != 0) {
    if (auto w = workers_.find(task.worker); w != workers_.end()) {
      m[Value("worker")] = absl::StrCat(w->second.host, ":", w->second.pid);
    }
    m[Value("started")] = UnixSeconds(task.started_at);
  } else if (!task.attempts.empty()) {
    m[Value("error")] = task.attempts.back().error;
  }
  if (task.due_timer != 0)
    m[Value("not_before")] = UnixSeconds(task.not_before);
  return m;
}

Map PoolObject::RecordInfo(int64_t task_id, const Record& record,
                           bool show_commands) {
  Map m{{"id", task_id},
        {"name", record.spec.name},
        {"state", record.state},
        {"priority", record.spec.schedule.priority},
        {"attempts", static_cast<int64_t>(record.attempts.size())},
        {"submitted", UnixSeconds(record.submitted)},
        {"finished", UnixSeconds(record.finished)},
        {"args", ArgsSummary(record.spec, record.payload_bytes, show_commands)},
        {"history", AttemptList(record.attempts)}};
  if (!record.attempts.empty()) {
    m[Value("worker")] = record.attempts.back().worker;
    m[Value("started")] = UnixSeconds(record.attempts.back().started);
  }
  if (!record.error.empty()) m[Value("error")] = record.error;
  return m;
}

void PoolObject::KeepRecordLocked(int64_t task_id, Task task, std::string state,
                                  std::string error, absl::Time now) {
  Record& record = records_[task_id];
  record.payload_bytes = task.spec.payload.size();
  record.spec = std::move(task.spec);
  if (record.payload_bytes > kRecordPayloadBytes) record.spec.payload.clear();
  record.state = std::move(state);
  record.submitted = task.submitted;
  record.finished = now;
  record.attempts = std::move(task.attempts);
  record.error = std::move(error);
  record_order_.push_back(task_id);
  const absl::Time cutoff = now - result_ttl_;
  while (!record_order_.empty() &&
         (static_cast<int64_t>(record_order_.size()) > max_records_ ||
          records_[record_order_.front()].finished < cutoff)) {
    records_.erase(record_order_.front());
    record_order_.pop_front();
  }
}

void PoolObject::DeadLetterLocked(int64_t task_id, const Task& task,
                                  const std::string& error, absl::Time now,
                                  std::vector<LogChange>* changes) {
  Log(LogLevel::kWarning, "task_dead_lettered",
      absl::StrCat("task ", task_id, " '", task.spec.name, "' of ", Describe(),
                   " failed for good after ", task.attempts.size(),
                   " attempt(s): ", error),
      {{"pool", name()},
       {"task_id", task_id},
       {"task", task.spec.name},
       {"error", error}});
  Value entry(Map{{"task_id", task_id},
                  {"name", task.spec.name},
                  {"losses", task.losses},
                  {"attempts", static_cast<int64_t>(task.attempts.size())},
                  {"failed_at", UnixSeconds(now)},
                  {"error", error},
                  {"task", EncodeTaskEnvelope(task.spec)}});
  const uint64_t seq = log().NextSequence();
  if (log().enabled()) changes->push_back(DeadLetterRecord(seq, entry));
  dead_letter_.emplace_back(seq, std::move(entry));
  if (dead_letter_.size() > kDeadLetterKept) {
    if (log().enabled()) {
      changes->push_back(
          LogChange::Delete(DeadLetterKey(dead_letter_.front().first)));
    }
    dead_letter_.pop_front();
  }
}

Value PoolObject::DeadLetterView(const Value& entry, bool show_commands) {
  if (!entry.is_map()) return entry;
  Map view = entry.map_value();
  auto task = view.find(Value("task"));
  if (task != view.end()) {
    absl::StatusOr<TaskEnvelope> spec = DecodeTaskEnvelope(task->second);
    view.erase(task);
    if (spec.ok()) {
      view[Value("args")] =
          ArgsSummary(*spec, spec->payload.size(), show_commands);
      view[Value("requeueable")] = true;
    }
  }
  return Value(std::move(view));
}

absl::StatusOr<Value> PoolObject::CancelTask(int64_t task_id, int64_t inbox) {
  absl::MutexLock l(&mu_);
  auto it = tasks_.find(task_id);
  if (it == tasks_.end()) {
    if (auto r = records_.find(task_id); r != records_.end()) {
      return absl::FailedPreconditionError(
          absl::StrCat(Describe(), ": task ", task_id, " has finished (",
                       r->second.state, "); there is nothing to cancel"));
    }
    return absl::NotFoundError(absl::StrCat(
        Describe(), ": no task ", task_id, " (unknown, or finished long ago)"));
  }
  Task& task = it->second;
  if (inbox != 0 && task.inbox != inbox) {
    return absl::PermissionDeniedError(absl::StrCat(
        Describe(), ": task ", task_id,
        " was submitted by another client; only an admin may cancel it"));
  }
  const std::string state = StateLocked(task);
  std::string message;
  if (state == "running") {
    auto w = workers_.find(task.worker);
    message = absl::StrCat(
        "cancelled after it was handed to ",
        w != workers_.end()
            ? absl::StrCat("worker ", w->second.host, ":", w->second.pid)
            : "a worker",
        ": it does not start there, or if it has, its process is stopped "
        "and replaced");
  } else {
    message = absl::StrCat("cancelled while ", state, ", before it ran");
    queue_.RemoveIf([task_id](int64_t id) { return id == task_id; });
  }
  // A running task's worker learns it from worker_holds and ends.
  FailLocked(task_id, absl::StatusCode::kCancelled, "Cancelled",
             std::move(message), nullptr);
  return Value(state);
}

absl::StatusOr<Value> PoolObject::TaskRecord(int64_t task_id,
                                             bool show_commands) const {
  absl::MutexLock l(&mu_);
  if (auto it = tasks_.find(task_id); it != tasks_.end()) {
    return Value(TaskInfoLocked(task_id, it->second, show_commands));
  }
  if (auto r = records_.find(task_id); r != records_.end()) {
    return Value(RecordInfo(task_id, r->second, show_commands));
  }
  if (task_id >= 1 && task_id < next_task_id_) {
    return absl::NotFoundError(absl::StrCat(
        Describe(), ": the record of task ", task_id,
        " is gone: finished tasks are kept for the result TTL (",
        absl::FormatDuration(result_ttl_), "), the last ", max_records_));
  }
  return absl::NotFoundError(absl::StrCat(Describe(), ": no task ", task_id,
                                          " (ids so far: 1 to ",
                                          next_task_id_ - 1, ")"));
}

absl::StatusOr<Value> PoolObject::Tasks(const Map& filter,
                                        bool show_commands) const {
  std::string state;
  std::string name;
  int64_t limit = kDefaultListed;
  for (const auto& [key, value] : filter) {
    const std::string field = key.is_string() ? key.string_value() : "";
    if ((field == "state" || field == "name") && value.is_string()) {
      (field == "state" ? state : name) = value.string_value();
    } else if (field == "limit" && value.is_int() && value.int_value() >= 1) {
      limit = value.int_value();
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          Describe(), ": tasks: unknown or bad filter ", key.ToString(), ": ",
          value.ToString(), " (state, name: strings; limit: an int >= 1)"));
    }
  }
  static const char* const kStates[] = {"queued",    "scheduled", "running",
                                        "succeeded", "failed",    "cancelled",
                                        "lost",      "expired"};
  if (!state.empty() && std::find(std::begin(kStates), std::end(kStates),
                                  state) == std::end(kStates)) {
    return absl::InvalidArgumentError(absl::StrCat(
        Describe(), ": tasks: no state '", state,
        "' (queued, scheduled, running, succeeded, failed, cancelled, lost, "
        "expired)"));
  }
  absl::MutexLock l(&mu_);
  // Ids newest first, then the newest `limit` in id order.
  std::vector<std::pair<int64_t, Map>> rows;
  auto wanted = [&](const std::string& task_name, const std::string& s) {
    return (name.empty() || task_name == name) && (state.empty() || s == state);
  };
  for (const auto& [id, task] : tasks_) {
    if (wanted(task.spec.name, StateLocked(task))) {
      rows.emplace_back(id, TaskInfoLocked(id, task, show_commands));
    }
  }
  for (const auto& [id, record] : records_) {
    if (wanted(record.spec.name, record.state)) {
      rows.emplace_back(id, RecordInfo(id, record, show_commands));
    }
  }
  std::sort(rows.begin(), rows.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  const size_t skip =
      rows.size() > static_cast<size_t>(limit) ? rows.size() - limit : 0;
  List out;
  out.reserve(rows.size() - skip);
  for (size_t i = skip; i < rows.size(); ++i) {
    out.push_back(std::move(rows[i].second));
  }
  return Value(std::move(out));
}

absl::StatusOr<Value> PoolObject::Requeue(int64_t inbox, const List& ids,
                                          bool all, CallContext* call) {
  absl::MutexLock l(&mu_);
  std::vector<size_t> picked;
  List found;  // the task ids picked
  for (size_t i = 0; i < dead_letter_.size(); ++i) {
    const Value& entry = dead_letter_[i].second;
    if (!entry.is_map()) continue;
    auto id = entry.map_value().find(Value("task_id"));
    if (id == entry.map_value().end()) continue;
    if (all || std::find(ids.begin(), ids.end(), id->second) != ids.end()) {
      picked.push_back(i);
      found.push_back(id->second);
    }
  }
  for (const Value& id : ids) {
    if (std::find(found.begin(), found.end(), id) == found.end()) {
      return absl::NotFoundError(absl::StrCat(
          Describe(), ": task ", id.ToString(),
          " is not a dead letter (it never failed for good, was requeued "
          "already, or was pushed out by newer ones)"));
    }
  }
  std::vector<std::pair<int64_t, TaskEnvelope>> specs;
  std::vector<size_t> requeued;  // of picked, those that keep their task
  for (size_t i : picked) {
    const Map& entry = dead_letter_[i].second.map_value();
    auto task = entry.find(Value("task"));
    absl::StatusOr<TaskEnvelope> spec =
        task != entry.end() ? DecodeTaskEnvelope(task->second)
                            : absl::FailedPreconditionError("no task kept");
    if (!spec.ok() && all) continue;  // listed by an older manager: stays
    if (!spec.ok()) {
      return absl::FailedPreconditionError(absl::StrCat(
          Describe(), ": dead letter ", entry.at(Value("task_id")).ToString(),
          " keeps no arguments (it was listed by an older manager) and cannot "
          "be requeued"));
    }
    specs.emplace_back(entry.at(Value("task_id")).int_value(),
                       *std::move(spec));
    requeued.push_back(i);
  }
  const absl::Time now = absl::Now();
  std::vector<Task> fresh(specs.size());
  for (size_t i = 0; i < specs.size(); ++i) {
    fresh[i].spec = std::move(specs[i].second);
    fresh[i].inbox = inbox;
    fresh[i].submitted = now;
    // Its countdown or eta has passed: it runs now, after a restart too.
    fresh[i].spec.schedule.delay_seconds = 0;
    fresh[i].spec.schedule.eta_unix = 0;
    fresh[i].not_before = now;
  }
  std::vector<LogChange> dropped;
  if (log().enabled()) {
    for (size_t i : requeued) {
      dropped.push_back(
          LogChange::Delete(DeadLetterKey(dead_letter_[i].first)));
    }
  }
  absl::StatusOr<int64_t> first =
      AddTasksLocked(inbox, std::move(fresh), std::move(dropped), *call);
  if (!first.ok()) return first.status();
  for (auto i = requeued.rbegin(); i != requeued.rend(); ++i) {
    dead_letter_.erase(dead_letter_.begin() + static_cast<ptrdiff_t>(*i));
  }
  List pairs;
  for (size_t i = 0; i < specs.size(); ++i) {
    pairs.push_back(List{specs[i].first, *first + static_cast<int64_t>(i)});
  }
  return Value(std::move(pairs));
}

}  // namespace mproc
