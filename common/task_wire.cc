#include "common/task_wire.h"

#include <cmath>
#include <utility>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "common/value_codec.h"

namespace mproc {
namespace {

constexpr char kTaskErrorPayload[] = "mproc/TaskError";

absl::Status Bad(absl::string_view what) {
  return absl::InvalidArgumentError(std::string(what));
}

bool ValidCode(int64_t code) { return code >= 0 && code <= 16; }

Value Pack(const Value& value) {
  std::string out;
  EncodeValue(value, &out);
  return Value(Bytes{std::move(out)});
}

// {type, message, host, pid}; missing fields are empty.
TaskError ErrorFromMap(const Map& m) {
  auto text = [&](const char* key) -> std::string {
    auto it = m.find(Value(key));
    return it != m.end() && it->second.is_string() ? it->second.string_value()
                                                   : "";
  };
  TaskError e;
  e.type = text("type");
  e.message = text("message");
  e.host = text("host");
  if (auto it = m.find(Value("pid")); it != m.end() && it->second.is_int()) {
    e.pid = it->second.int_value();
  }
  return e;
}

absl::StatusOr<TaskOutcome> DecodeOutcomeFields(const Value& code, Value value,
                                                const Value& error) {
  TaskOutcome outcome;
  if (!code.is_int() || !ValidCode(code.int_value())) {
    return Bad(absl::StrCat("a task result's code must be a status code, got ",
                            code.ToString()));
  }
  outcome.code = static_cast<absl::StatusCode>(code.int_value());
  outcome.value = std::move(value);
  if (!error.is_null()) {
    if (!error.is_map()) return Bad("a task result's error must be a map");
    outcome.error = ErrorFromMap(error.map_value());
  }
  if (outcome.code != absl::StatusCode::kOk && !outcome.error.has_value()) {
    outcome.error = TaskError{"TaskError", "failed without a message", "", 0};
  }
  return outcome;
}

Value EncodeError(const std::optional<TaskError>& error) {
  if (!error.has_value()) return Value();
  return Map{{"type", error->type},
             {"message", error->message},
             {"host", error->host},
             {"pid", error->pid}};
}

// A task field that is a finite number of seconds >= 0; `what` names it.
absl::StatusOr<double> Seconds(const Value& field, absl::string_view what,
                               absl::string_view task) {
  if (!field.is_number() || !(field.AsDouble() >= 0) ||
      std::isinf(field.AsDouble())) {
    return Bad(absl::StrCat(what, " of task '", task,
                            "' must be a number of seconds >= 0, got ",
                            field.ToString()));
  }
  return field.AsDouble();
}

Value EncodeSchedule(const TaskSchedule& s) {
  Map m;
  if (s.priority != 0) m[Value("priority")] = s.priority;
  if (s.delay_seconds != 0) m[Value("delay")] = s.delay_seconds;
  if (s.eta_unix != 0) m[Value("eta")] = s.eta_unix;
  if (!s.retry_on.empty()) {
    m[Value("retry_on")] = List(s.retry_on.begin(), s.retry_on.end());
  }
  if (s.retry_backoff != 0) m[Value("backoff")] = s.retry_backoff;
  if (s.retry_backoff_max != 600) m[Value("backoff_max")] = s.retry_backoff_max;
  return Value(std::move(m));
}

absl::StatusOr<TaskSchedule> DecodeSchedule(const Value& field,
                                            absl::string_view task) {
  if (!field.is_map()) {
    return Bad(absl::StrCat("the schedule of task '", task,
                            "' must be a map, got ", field.type_name()));
  }
  TaskSchedule s;
  for (const auto& [key, value] : field.map_value()) {
    const std::string name = key.is_string() ? key.string_value() : "";
    if (name == "priority") {
      if (!value.is_int()) {
        return Bad(absl::StrCat("the priority of task '", task,
                                "' must be an int, got ", value.ToString()));
      }
      s.priority = value.int_value();
      continue;
    }
    if (name == "retry_on") {
      if (!value.is_list()) {
        return Bad(absl::StrCat("retry_on of task '", task,
                                "' must be a list of error types"));
      }
      for (const Value& type : value.list_value()) {
        if (!type.is_string() || type.string_value().empty()) {
          return Bad(absl::StrCat("retry_on of task '", task,
                                  "' must hold error type names, got ",
                                  type.ToString()));
        }
        s.retry_on.push_back(type.string_value());
      }
      continue;
    }
    double* seconds = name == "delay"         ? &s.delay_seconds
                      : name == "eta"         ? &s.eta_unix
                      : name == "backoff"     ? &s.retry_backoff
                      : name == "backoff_max" ? &s.retry_backoff_max
                                              : nullptr;
    if (seconds == nullptr) {
      return Bad(absl::StrCat("the schedule of task '", task,
                              "' has an unknown field ", key.ToString()));
    }
    absl::StatusOr<double> v = Seconds(value, name, task);
    if (!v.ok()) return v.status();
    *seconds = *v;
  }
  return s;
}

}  // namespace

Value EncodeTaskSpec(TaskSpec spec) {
  List payload{Value(std::move(spec.args)), Value(std::move(spec.kwargs))};
  if (spec.single_args) payload.push_back(true);
  List fields{std::move(spec.name), Pack(Value(std::move(payload))),
              spec.timeout_seconds, spec.max_retries,
              spec.chunk,           spec.expires_seconds};
  if (!spec.schedule.is_default()) {
    fields.push_back(EncodeSchedule(spec.schedule));
  }
  return Value(std::move(fields));
}

absl::StatusOr<TaskEnvelope> DecodeTaskEnvelope(const Value& encoded) {
  if (!encoded.is_list() || encoded.list_value().size() < 5 ||
      encoded.list_value().size() > 7) {
    return Bad(absl::StrCat(
        "a task must be a list [name, payload, timeout, max_retries, chunk, "
        "expires, schedule], got ",
        encoded.ToString().substr(0, 80)));
  }
  const List& f = encoded.list_value();
  TaskEnvelope task;
  if (!f[0].is_string() || f[0].string_value().empty()) {
    return Bad("the task name must be a non-empty string");
  }
  task.name = f[0].string_value();
  if (!f[1].is_bytes()) {
    return Bad(absl::StrCat("the payload of task '", task.name,
                            "' must be bytes, got ", f[1].type_name()));
  }
  task.payload = f[1].bytes_value();
  absl::StatusOr<double> timeout = Seconds(f[2], "the timeout", task.name);
  if (!timeout.ok()) return timeout.status();
  task.timeout_seconds = *timeout;
  if (!f[3].is_int() || f[3].int_value() < 0) {
    return Bad(absl::StrCat("max_retries of task '", task.name,
                            "' must be an int >= 0, got ", f[3].ToString()));
  }
  task.max_retries = f[3].int_value();
  if (!f[4].is_bool()) {
    return Bad(absl::StrCat("the chunk flag of task '", task.name,
                            "' must be a bool, got ", f[4].ToString()));
  }
  task.chunk = f[4].bool_value();
  if (f.size() >= 6) {
    absl::StatusOr<double> expires = Seconds(f[5], "the expiry", task.name);
    if (!expires.ok()) return expires.status();
    task.expires_seconds = *expires;
  }
  if (f.size() == 7) {
    absl::StatusOr<TaskSchedule> schedule = DecodeSchedule(f[6], task.name);
    if (!schedule.ok()) return schedule.status();
    task.schedule = *std::move(schedule);
  }
  return task;
}

Value EncodeTaskEnvelope(const TaskEnvelope& task) {
  List fields{task.name,
              Value(Bytes{task.payload}),
              task.timeout_seconds,
              task.max_retries,
              task.chunk,
              task.expires_seconds};
  if (!task.schedule.is_default()) {
    fields.push_back(EncodeSchedule(task.schedule));
  }
  return Value(std::move(fields));
}

Value EncodeOutcome(const TaskOutcome& outcome) {
  return Value(List{static_cast<int64_t>(outcome.code), outcome.value,
                    EncodeError(outcome.error)});
}

absl::StatusOr<TaskOutcome> DecodeOutcome(const Value& encoded) {
  if (!encoded.is_list() || encoded.list_value().size() != 3) {
    return Bad("a task outcome must be a list [code, value, error]");
  }
  const List& f = encoded.list_value();
  return DecodeOutcomeFields(f[0], f[1], f[2]);
}

Value EncodeResult(const TaskResult& result) {
  const TaskOutcome& o = result.outcome;
  List fields{result.task_id, static_cast<int64_t>(o.code),
              o.code == absl::StatusCode::kOk ? Pack(o.value) : Value(),
              EncodeError(o.error), result.run_us};
  if (result.attempt != 0) fields.push_back(result.attempt);
  return Value(std::move(fields));
}

namespace {

// A result has 5 fields, or 6 with its hand-out.
bool ResultSized(const Value& encoded) {
  return encoded.is_list() && (encoded.list_value().size() == 5 ||
                               (encoded.list_value().size() == 6 &&
                                encoded.list_value()[5].is_int()));
}

}  // namespace

absl::StatusOr<ResultHeader> PeekResult(const Value& encoded) {
  if (!ResultSized(encoded) || !encoded.list_value()[0].is_int() ||
      !encoded.list_value()[1].is_int() ||
      !ValidCode(encoded.list_value()[1].int_value()) ||
      !encoded.list_value()[4].is_int() ||
      !(encoded.list_value()[2].is_null() ||
        encoded.list_value()[2].is_bytes())) {
    return Bad(absl::StrCat(
        "a task result must be a list [task_id, code, payload, error, run_us "
        "(, attempt)], got ",
        encoded.ToString().substr(0, 80)));
  }
  const List& f = encoded.list_value();
  return ResultHeader{f[0].int_value(),
                      static_cast<absl::StatusCode>(f[1].int_value()),
                      f[4].int_value(), f.size() == 6 ? f[5].int_value() : 0};
}

TaskError PeekResultError(const Value& encoded) {
  if (!ResultSized(encoded) || !encoded.list_value()[3].is_map()) {
    return TaskError{};
  }
  return ErrorFromMap(encoded.list_value()[3].map_value());
}

absl::StatusOr<TaskResult> DecodeResult(const Value& encoded) {
  absl::StatusOr<ResultHeader> header = PeekResult(encoded);
  if (!header.ok()) return header.status();
  const List& f = encoded.list_value();
  Value value;
  if (f[2].is_bytes()) {
    absl::StatusOr<Value> unpacked = DecodeValue(f[2].bytes_value());
    if (!unpacked.ok()) return unpacked.status();
    value = *std::move(unpacked);
  }
  absl::StatusOr<TaskOutcome> outcome =
      DecodeOutcomeFields(f[1], std::move(value), f[3]);
  if (!outcome.ok()) return outcome.status();
  return TaskResult{header->task_id, *std::move(outcome), header->run_us,
                    header->attempt};
}

Value EncodeWorkItem(int64_t task_id, const TaskEnvelope& task,
                     int64_t attempt) {
  List fields{task_id, task.name, Value(Bytes{task.payload}),
              task.timeout_seconds, task.chunk};
  if (attempt != 0) fields.push_back(attempt);
  return Value(std::move(fields));
}

absl::StatusOr<WorkItem> DecodeWorkItem(const Value& encoded) {
  const size_t fields = encoded.is_list() ? encoded.list_value().size() : 0;
  if ((fields != 5 && (fields != 6 || !encoded.list_value()[5].is_int())) ||
      !encoded.list_value()[0].is_int() ||
      !encoded.list_value()[1].is_string() ||
      !encoded.list_value()[2].is_bytes() ||
      !encoded.list_value()[3].is_number() ||
      !encoded.list_value()[4].is_bool()) {
    return Bad(
        "a work item must be [task_id, name, payload, timeout, chunk(, "
        "attempt)]");
  }
  const List& f = encoded.list_value();
  WorkItem item;
  item.task_id = f[0].int_value();
  item.attempt = fields == 6 ? f[5].int_value() : 0;
  item.spec.name = f[1].string_value();
  item.spec.timeout_seconds = f[3].AsDouble();
  item.spec.chunk = f[4].bool_value();
  absl::StatusOr<Value> payload = DecodeValue(f[2].bytes_value());
  const size_t parts_n =
      payload.ok() && payload->is_list() ? payload->list_value().size() : 0;
  if ((parts_n != 2 && parts_n != 3) || !payload->list_value()[0].is_list() ||
      !payload->list_value()[1].is_map() ||
      (parts_n == 3 && !payload->list_value()[2].is_bool())) {
    return Bad(absl::StrCat("the arguments of task '", item.spec.name,
                            "' are not [args, kwargs]"));
  }
  List& parts = payload->mutable_list();
  item.spec.args = std::move(parts[0].mutable_list());
  item.spec.kwargs = std::move(parts[1].mutable_map());
  item.spec.single_args = parts_n == 3 && parts[2].bool_value();
  for (const auto& [key, value] : item.spec.kwargs) {
    if (!key.is_string()) {
      return Bad(absl::StrCat("keyword argument names of task '",
                              item.spec.name, "' must be strings"));
    }
  }
  if (item.spec.chunk && !item.spec.single_args) {
    for (const Value& args : item.spec.args) {
      if (!args.is_list()) {
        return Bad(absl::StrCat("each item of a chunk of task '",
                                item.spec.name, "' must be an argument list"));
      }
    }
  }
  return item;
}

absl::Status OutcomeStatus(const TaskOutcome& outcome, absl::string_view name,
                           int64_t task_id) {
  if (outcome.code == absl::StatusCode::kOk) return absl::OkStatus();
  const TaskError& e = *outcome.error;
  std::string where =
      e.host.empty() ? std::string() : absl::StrCat(" on ", e.host, ":", e.pid);
  return WithTaskErrorType(
      absl::Status(
          outcome.code,
          absl::StrCat(e.type, ": ", e.message, " (task ",
                       name.empty() ? "" : absl::StrCat("'", name, "' "), "id ",
                       task_id, where, ")")),
      e.type);
}

absl::Status WithTaskErrorType(absl::Status status, absl::string_view type) {
  status.SetPayload(kTaskErrorPayload, absl::Cord(type));
  return status;
}

std::optional<std::string> TaskErrorType(const absl::Status& status) {
  auto type = status.GetPayload(kTaskErrorPayload);  // absl::optional
  if (!type.has_value()) return std::nullopt;
  return std::string(*type);
}

}  // namespace mproc
