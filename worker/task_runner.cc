#include "worker/task_runner.h"

#include <exception>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace mproc {
namespace {

TaskOutcome Failed(const RunnerContext& context, absl::StatusCode code,
                   std::string type, std::string message) {
  TaskOutcome outcome;
  outcome.code = code;
  outcome.error =
      TaskError{std::move(type), std::move(message), context.host, context.pid};
  return outcome;
}

}  // namespace

TaskOutcome RunTask(const RunnerContext& context, const std::string& name,
                    const List& args, const Map& kwargs) {
  const TaskInfo* task = context.registry->Find(name);
  if (task == nullptr) {
    return Failed(context, absl::StatusCode::kNotFound, "UnknownTask",
                  absl::StrCat("this worker has no task '", name, "' (it has: ",
                               absl::StrJoin(context.registry->Names(), ", "),
                               ")"));
  }
  if (task->needs_exec_permission && !context.allow_exec) {
    return Failed(context, absl::StatusCode::kPermissionDenied,
                  "PermissionDenied",
                  absl::StrCat("task '", name,
                               "' runs commands and is disabled on this worker "
                               "(start it with --allow-exec)"));
  }
  absl::StatusOr<Value> result;
  try {
    result = task->function(args, kwargs);
  } catch (const std::exception& e) {
    return Failed(context, absl::StatusCode::kUnknown, "TaskError", e.what());
  } catch (...) {
    return Failed(context, absl::StatusCode::kUnknown, "TaskError",
                  "an exception that is not a std::exception");
  }
  if (!result.ok()) {
    return Failed(context, result.status().code(),
                  TaskErrorType(result.status()).value_or("TaskError"),
                  std::string(result.status().message()));
  }
  TaskOutcome outcome;
  outcome.value = *std::move(result);
  return outcome;
}

TaskOutcome RunWorkItem(const RunnerContext& context, const WorkItem& item) {
  const TaskSpec& spec = item.spec;
  if (!spec.chunk) return RunTask(context, spec.name, spec.args, spec.kwargs);
  List outcomes;
  outcomes.reserve(spec.args.size());
  for (const Value& args : spec.args) {
    outcomes.push_back(EncodeOutcome(
        RunTask(context, spec.name, args.list_value(), spec.kwargs)));
  }
  TaskOutcome outcome;
  outcome.value = Value(std::move(outcomes));
  return outcome;
}

}  // namespace mproc
