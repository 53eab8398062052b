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
    TaskError e;
    const Map& m = error.map_value();
    auto text = [&](const char* key) -> std::string {
      auto it = m.find(Value(key));
      return it != m.end() && it->second.is_string() ? it->second.string_value()
                                                     : "";
    };
    e.type = text("type");
    e.message = text("message");
    e.host = text("host");
    if (auto it = m.find(Value("pid")); it != m.end() && it->second.is_int()) {
      e.pid = it->second.int_value();
    }
    outcome.error = std::move(e);
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

}  // namespace

Value EncodeTaskSpec(TaskSpec spec) {
  List payload{Value(std::move(spec.args)), Value(std::move(spec.kwargs))};
  if (spec.single_args) payload.push_back(true);
  return Value(List{std::move(spec.name), Pack(Value(std::move(payload))),
                    spec.timeout_seconds, spec.max_retries, spec.chunk,
                    spec.expires_seconds});
}

absl::StatusOr<TaskEnvelope> DecodeTaskEnvelope(const Value& encoded) {
  if (!encoded.is_list() || encoded.list_value().size() < 5 ||
      encoded.list_value().size() > 6) {
    return Bad(absl::StrCat(
        "a task must be a list [name, payload, timeout, max_retries, chunk, "
        "expires], got ",
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
  if (f.size() == 6) {
    absl::StatusOr<double> expires = Seconds(f[5], "the expiry", task.name);
    if (!expires.ok()) return expires.status();
    task.expires_seconds = *expires;
  }
  return task;
}

Value EncodeTaskEnvelope(const TaskEnvelope& task) {
  return Value(List{task.name, Value(Bytes{task.payload}), task.timeout_seconds,
                    task.max_retries, task.chunk, task.expires_seconds});
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
  return Value(List{result.task_id, static_cast<int64_t>(o.code),
                    o.code == absl::StatusCode::kOk ? Pack(o.value) : Value(),
                    EncodeError(o.error), result.run_us});
}

absl::StatusOr<ResultHeader> PeekResult(const Value& encoded) {
  if (!encoded.is_list() || encoded.list_value().size() != 5 ||
      !encoded.list_value()[0].is_int() || !encoded.list_value()[1].is_int() ||
      !ValidCode(encoded.list_value()[1].int_value()) ||
      !encoded.list_value()[4].is_int() ||
      !(encoded.list_value()[2].is_null() ||
        encoded.list_value()[2].is_bytes())) {
    return Bad(absl::StrCat(
        "a task result must be a list [task_id, code, payload, error, run_us], "
        "got ",
        encoded.ToString().substr(0, 80)));
  }
  const List& f = encoded.list_value();
  return ResultHeader{f[0].int_value(),
                      static_cast<absl::StatusCode>(f[1].int_value()),
                      f[4].int_value()};
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
  return TaskResult{header->task_id, *std::move(outcome), header->run_us};
}

Value EncodeWorkItem(int64_t task_id, const TaskEnvelope& task) {
  return Value(List{task_id, task.name, Value(Bytes{task.payload}),
                    task.timeout_seconds, task.chunk});
}

absl::StatusOr<WorkItem> DecodeWorkItem(const Value& encoded) {
  if (!encoded.is_list() || encoded.list_value().size() != 5 ||
      !encoded.list_value()[0].is_int() ||
      !encoded.list_value()[1].is_string() ||
      !encoded.list_value()[2].is_bytes() ||
      !encoded.list_value()[3].is_number() ||
      !encoded.list_value()[4].is_bool()) {
    return Bad("a work item must be [task_id, name, payload, timeout, chunk]");
  }
  const List& f = encoded.list_value();
  WorkItem item;
  item.task_id = f[0].int_value();
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
