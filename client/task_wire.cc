#include "client/task_wire.h"

#include <cmath>
#include <utility>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"

namespace mproc {
namespace {

constexpr char kTaskErrorPayload[] = "mproc/TaskError";

absl::Status Bad(absl::string_view what) {
  return absl::InvalidArgumentError(std::string(what));
}

bool ValidCode(int64_t code) { return code >= 0 && code <= 16; }

}  // namespace

Value EncodeTaskSpec(const TaskSpec& spec) {
  return Value(List{spec.name, spec.args,
                    spec.kwargs.empty() ? Value() : Value(spec.kwargs),
                    spec.timeout_seconds, spec.max_retries, spec.chunk});
}

absl::StatusOr<TaskSpec> DecodeTaskSpec(const Value& encoded) {
  if (!encoded.is_list() || encoded.list_value().size() < 2 ||
      encoded.list_value().size() > 6) {
    return Bad(absl::StrCat(
        "a task must be a list [name, args, kwargs, timeout, max_retries, "
        "chunk] of 2 to 6 items, got ",
        encoded.ToString().substr(0, 80)));
  }
  const List& f = encoded.list_value();
  TaskSpec spec;
  if (!f[0].is_string() || f[0].string_value().empty()) {
    return Bad("the task name must be a non-empty string");
  }
  spec.name = f[0].string_value();
  if (!f[1].is_list()) {
    return Bad(absl::StrCat("the arguments of task '", spec.name,
                            "' must be a list, got ", f[1].type_name()));
  }
  spec.args = f[1].list_value();
  if (f.size() > 2 && !f[2].is_null()) {
    if (!f[2].is_map()) {
      return Bad(absl::StrCat("the keyword arguments of task '", spec.name,
                              "' must be a map, got ", f[2].type_name()));
    }
    for (const auto& [key, value] : f[2].map_value()) {
      if (!key.is_string()) {
        return Bad(absl::StrCat("keyword argument names of task '", spec.name,
                                "' must be strings, got ", key.ToString()));
      }
    }
    spec.kwargs = f[2].map_value();
  }
  if (f.size() > 3 && !f[3].is_null()) {
    if (!f[3].is_number() || !(f[3].AsDouble() >= 0) ||
        std::isinf(f[3].AsDouble())) {
      return Bad(absl::StrCat("the timeout of task '", spec.name,
                              "' must be a number of seconds >= 0, got ",
                              f[3].ToString()));
    }
    spec.timeout_seconds = f[3].AsDouble();
  }
  if (f.size() > 4 && !f[4].is_null()) {
    if (!f[4].is_int() || f[4].int_value() < 0) {
      return Bad(absl::StrCat("max_retries of task '", spec.name,
                              "' must be an int >= 0, got ", f[4].ToString()));
    }
    spec.max_retries = f[4].int_value();
  }
  if (f.size() > 5 && !f[5].is_null()) {
    if (!f[5].is_bool()) {
      return Bad(absl::StrCat("the chunk flag of task '", spec.name,
                              "' must be a bool, got ", f[5].ToString()));
    }
    spec.chunk = f[5].bool_value();
  }
  if (spec.chunk) {
    for (const Value& item : spec.args) {
      if (!item.is_list()) {
        return Bad(absl::StrCat("each item of a chunk of task '", spec.name,
                                "' must be an argument list, got ",
                                item.type_name()));
      }
    }
  }
  return spec;
}

Value EncodeOutcome(const TaskOutcome& outcome) {
  Value error;
  if (outcome.error.has_value()) {
    error = Map{{"type", outcome.error->type},
                {"message", outcome.error->message},
                {"host", outcome.error->host},
                {"pid", outcome.error->pid}};
  }
  return Value(List{static_cast<int64_t>(outcome.code), outcome.value,
                    std::move(error)});
}

namespace {

absl::StatusOr<TaskOutcome> DecodeOutcomeFields(const List& f, size_t first) {
  TaskOutcome outcome;
  if (!f[first].is_int() || !ValidCode(f[first].int_value())) {
    return Bad(absl::StrCat("a task result's code must be a status code, got ",
                            f[first].ToString()));
  }
  outcome.code = static_cast<absl::StatusCode>(f[first].int_value());
  outcome.value = f[first + 1];
  const Value& error = f[first + 2];
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

}  // namespace

absl::StatusOr<TaskOutcome> DecodeOutcome(const Value& encoded) {
  if (!encoded.is_list() || encoded.list_value().size() != 3) {
    return Bad("a task outcome must be a list [code, value, error]");
  }
  return DecodeOutcomeFields(encoded.list_value(), 0);
}

Value EncodeResult(const TaskResult& result) {
  Value outcome = EncodeOutcome(result.outcome);
  List& f = outcome.mutable_list();
  f.insert(f.begin(), result.task_id);
  return outcome;
}

absl::StatusOr<TaskResult> DecodeResult(const Value& encoded) {
  if (!encoded.is_list() || encoded.list_value().size() != 4 ||
      !encoded.list_value()[0].is_int()) {
    return Bad(absl::StrCat(
        "a task result must be a list [task_id, code, value, error], got ",
        encoded.ToString().substr(0, 80)));
  }
  TaskResult result;
  result.task_id = encoded.list_value()[0].int_value();
  absl::StatusOr<TaskOutcome> outcome =
      DecodeOutcomeFields(encoded.list_value(), 1);
  if (!outcome.ok()) return outcome.status();
  result.outcome = *std::move(outcome);
  return result;
}

Value EncodeWorkItem(int64_t task_id, const TaskSpec& spec) {
  return Value(List{task_id, spec.name, spec.args,
                    spec.kwargs.empty() ? Value() : Value(spec.kwargs),
                    spec.timeout_seconds, spec.chunk});
}

absl::StatusOr<WorkItem> DecodeWorkItem(const Value& encoded) {
  if (!encoded.is_list() || encoded.list_value().size() != 6 ||
      !encoded.list_value()[0].is_int()) {
    return Bad("a work item must be [task_id, name, args, kwargs, timeout, chunk]");
  }
  const List& f = encoded.list_value();
  absl::StatusOr<TaskSpec> spec = DecodeTaskSpec(
      Value(List{f[1], f[2], f[3], f[4], Value(), f[5]}));
  if (!spec.ok()) return spec.status();
  return WorkItem{f[0].int_value(), *std::move(spec)};
}

absl::Status OutcomeStatus(const TaskOutcome& outcome, absl::string_view name,
                           int64_t task_id) {
  if (outcome.code == absl::StatusCode::kOk) return absl::OkStatus();
  const TaskError& e = *outcome.error;
  std::string where = e.host.empty() ? std::string()
                                     : absl::StrCat(" on ", e.host, ":", e.pid);
  return WithTaskErrorType(
      absl::Status(outcome.code,
                   absl::StrCat(e.type, ": ", e.message, " (task ",
                                name.empty() ? "" : absl::StrCat("'", name, "' "),
                                "id ", task_id, where, ")")),
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
