// Tasks: C++ functions a worker runs by name, like the functions handed to
// Python's Pool.apply_async.
//
//   int Square(int x) { return x * x; }
//   MPROC_TASK("square", Square);
//
// Arguments arrive as mproc::Values and are converted to the function's
// parameter types (Value::As: int, double, bool, std::string, Bytes,
// std::vector<T>, std::map<K, V>, std::optional<T>, Value); the result is
// converted back (void gives null). A function returning absl::Status or
// absl::StatusOr<T> fails the task with that status. A function taking
// (const mproc::List& args, const mproc::Map& kwargs) gets the raw
// arguments, keyword arguments included; other functions take positional
// arguments only. A wrong count or type of arguments fails the task with
// an ArgumentError naming the task and the argument; an exception escaping
// the function fails it with a TaskError carrying what().
//
// Registration happens at static-initialization time: link the file with
// the MPROC_TASK lines into the worker binary (`alwayslink = 1` when it is
// in a cc_library or archive of your own) and start it with
// mproc::WorkerMain (supervisor.h), which adds the stock tasks
// (builtin_tasks.h).
#ifndef MPROC_WORKER_TASK_REGISTRY_H_
#define MPROC_WORKER_TASK_REGISTRY_H_

#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "common/value.h"

namespace mproc {

// The uniform shape every task is called through.
using TaskFunction =
    std::function<absl::StatusOr<Value>(const List& args, const Map& kwargs)>;

struct TaskInfo {
  std::string name;
  TaskFunction function;
  // Runs only on workers started with --allow-exec (the exec task).
  bool needs_exec_permission = false;
};

// The tasks of this binary. Thread-safe for lookups once main() runs.
class TaskRegistry {
 public:
  static TaskRegistry& Global();

  // Registers `function` as `name`; a later registration of the same name
  // replaces it. Returns true (so it can initialise a static).
  bool Add(std::string name, TaskFunction function,
           bool needs_exec_permission = false);
  template <typename F>
  bool AddTyped(std::string name, F function);

  // nullptr if there is no such task.
  const TaskInfo* Find(const std::string& name) const;
  std::vector<std::string> Names() const;

 private:
  std::map<std::string, TaskInfo> tasks_;
};

// An INVALID_ARGUMENT status marked as an ArgumentError (task_wire.h's
// TaskErrorType), for raw (List, Map) tasks to reject their arguments.
absl::Status TaskArgumentError(std::string message);

namespace task_internal {

template <typename T>
using Bare = std::remove_cv_t<std::remove_reference_t<T>>;

template <typename R>
absl::StatusOr<Value> ResultToValue(R&& result) {
  using T = Bare<R>;
  if constexpr (std::is_same_v<T, absl::Status>) {
    if (!result.ok()) return result;
    return Value();
  } else if constexpr (std::is_same_v<T, absl::StatusOr<Value>>) {
    return std::forward<R>(result);
  } else if constexpr (std::is_constructible_v<Value, T>) {
    return Value(std::forward<R>(result));
  } else {
    // absl::StatusOr<U> for any U a Value can hold.
    if (!result.ok()) return result.status();
    return Value(*std::forward<R>(result));
  }
}

template <typename... A, size_t... I>
absl::StatusOr<std::tuple<Bare<A>...>> ConvertArgs(const std::string& task,
                                                   const List& args,
                                                   std::index_sequence<I...>) {
  absl::Status error;
  [[maybe_unused]] auto convert = [&](auto tag, size_t i) {
    using T = typename decltype(tag)::type;
    if (!error.ok()) return T();
    absl::StatusOr<T> v = args[i].template As<T>();
    if (!v.ok()) {
      error = TaskArgumentError(absl::StrCat(
          "argument ", i + 1, " of task '", task, "': ", v.status().message()));
      return T();
    }
    return *std::move(v);
  };
  std::tuple<Bare<A>...> out{convert(std::common_type<Bare<A>>(), I)...};
  if (!error.ok()) return error;
  return out;
}

template <typename F, typename R, typename... A>
TaskFunction Adapt(std::string name, F function) {
  if constexpr (sizeof...(A) == 2 &&
                std::is_same_v<std::tuple<Bare<A>...>, std::tuple<List, Map>>) {
    return [function](const List& args, const Map& kwargs) {
      return ResultToValue(function(args, kwargs));
    };
  } else {
    return [name, function](const List& args,
                            const Map& kwargs) -> absl::StatusOr<Value> {
      if (!kwargs.empty()) {
        return TaskArgumentError(
            absl::StrCat("task '", name, "' takes no keyword arguments"));
      }
      if (args.size() != sizeof...(A)) {
        return TaskArgumentError(
            absl::StrCat("task '", name, "' takes ", sizeof...(A),
                         " argument(s), got ", args.size()));
      }
      auto converted =
          ConvertArgs<A...>(name, args, std::index_sequence_for<A...>());
      if (!converted.ok()) return converted.status();
      if constexpr (std::is_void_v<R>) {
        std::apply(function, *std::move(converted));
        return Value();
      } else {
        return ResultToValue(std::apply(function, *std::move(converted)));
      }
    };
  }
}

template <typename T>
struct Signature : Signature<decltype(&T::operator())> {};
template <typename R, typename... A>
struct Signature<R (*)(A...)> {
  template <typename F>
  static TaskFunction Make(std::string name, F f) {
    return Adapt<F, R, A...>(std::move(name), std::move(f));
  }
};
template <typename R, typename... A>
struct Signature<R(A...)> : Signature<R (*)(A...)> {};
template <typename C, typename R, typename... A>
struct Signature<R (C::*)(A...) const> : Signature<R (*)(A...)> {};
template <typename C, typename R, typename... A>
struct Signature<R (C::*)(A...)> : Signature<R (*)(A...)> {};

}  // namespace task_internal

template <typename F>
bool TaskRegistry::AddTyped(std::string name, F function) {
  using Fn = std::decay_t<F>;
  TaskFunction adapted =
      task_internal::Signature<Fn>::Make(name, Fn(std::move(function)));
  return Add(std::move(name), std::move(adapted));
}

}  // namespace mproc

#define MPROC_TASK_CONCAT_INNER(a, b) a##b
#define MPROC_TASK_CONCAT(a, b) MPROC_TASK_CONCAT_INNER(a, b)
// Registers `function` (a function or non-generic lambda) as task `name`.
#define MPROC_TASK(name, function)                                      \
  static const bool MPROC_TASK_CONCAT(mproc_task_registered_, __LINE__) \
      [[maybe_unused]] =                                                \
          ::mproc::TaskRegistry::Global().AddTyped(name, function)

#endif  // MPROC_WORKER_TASK_REGISTRY_H_
