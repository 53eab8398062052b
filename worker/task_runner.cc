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

// Looks the task up and checks it may run here; nullptr with `*refusal`
// set otherwise.
const TaskInfo* FindRunnable(const RunnerContext& context,
                             const std::string& name, TaskOutcome* refusal) {
  const TaskInfo* task = context.registry->Find(name);
  if (task == nullptr) {
    *refusal = Failed(
        context, absl::StatusCode::kNotFound, "UnknownTask",
        absl::StrCat("this worker has no task '", name, "' (it has: ",
                     absl::StrJoin(context.registry->Names(), ", "), ")"));
    return nullptr;
  }
  if (task->needs_exec_permission && !context.allow_exec) {
    *refusal =
        Failed(context, absl::StatusCode::kPermissionDenied, "PermissionDenied",
               absl::StrCat("task '", name,
                            "' runs commands and is disabled on this "
                            "worker (start it with --allow-exec)"));
    return nullptr;
  }
  return task;
}

TaskOutcome Call(const RunnerContext& context, const TaskInfo& task,
                 const List& args, const Map& kwargs) {
  absl::StatusOr<Value> result;
  try {
    result = task.function(args, kwargs);
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

}  // namespace

TaskOutcome RunTask(const RunnerContext& context, const std::string& name,
                    const List& args, const Map& kwargs) {
  TaskOutcome refusal;
  const TaskInfo* task = FindRunnable(context, name, &refusal);
  if (task == nullptr) return refusal;
  return Call(context, *task, args, kwargs);
}

TaskOutcome RunWorkItem(const RunnerContext& context, WorkItem& item) {
  TaskSpec& spec = item.spec;
  if (!spec.chunk) return RunTask(context, spec.name, spec.args, spec.kwargs);
  TaskOutcome refusal;
  const TaskInfo* task = FindRunnable(context, spec.name, &refusal);
  if (task == nullptr) return refusal;  // the whole chunk fails alike
  List values;
  Map failures;
  values.reserve(spec.args.size());
  List single(1);  // reused: one argument per call
  for (size_t i = 0; i < spec.args.size(); ++i) {
    if (spec.single_args) single[0] = std::move(spec.args[i]);
    TaskOutcome outcome = Call(
        context, *task, spec.single_args ? single : spec.args[i].list_value(),
        spec.kwargs);
    if (outcome.code == absl::StatusCode::kOk) {
      values.push_back(std::move(outcome.value));
    } else {
      values.push_back(Value());
      failures[Value(static_cast<int64_t>(i))] = EncodeOutcome(outcome);
    }
  }
  TaskOutcome outcome;
  outcome.value =
      Value(List{Value(std::move(values)), Value(std::move(failures))});
  return outcome;
}

}  // namespace mproc
