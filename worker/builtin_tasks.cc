// The stock tasks (builtin_tasks.h).
#include "worker/builtin_tasks.h"

#include <unistd.h>

#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/value_checks.h"
#include "worker/process/subprocess.h"
#include "worker/task_registry.h"

namespace mproc {
namespace {

// Returns its positional arguments as a list, and keyword arguments (if
// any) as a map after them.
absl::StatusOr<Value> Echo(const List& args, const Map& kwargs) {
  if (kwargs.empty()) return Value(args);
  return Value(List{Value(args), Value(kwargs)});
}

// Returns its one argument (the cheapest task: for tests and benchmarks).
Value Identity(Value x) { return x; }

absl::Status Sleep(double seconds) {
  if (!(seconds >= 0)) {
    return TaskArgumentError(
        absl::StrCat("sleep needs seconds >= 0, got ", seconds));
  }
  absl::SleepFor(absl::Seconds(seconds));
  return absl::OkStatus();
}

// Fails with `message`, by throwing (what a buggy task does).
Value Fail(std::string message) { throw std::runtime_error(message); }

int64_t GetPid() { return getpid(); }

// Text stays text; anything else travels as bytes.
Value Output(std::string data) {
  if (CheckText(data).ok()) return Value(std::move(data));
  return Value(Bytes{std::move(data)});
}

// exec(argv..., stdin=, env=, cwd=, timeout=) -> {returncode, stdout,
// stderr}: subprocess.run with captured output. argv is either the
// positional arguments or one list. A timeout kills the command's process
// group and fails the task with DEADLINE_EXCEEDED.
absl::StatusOr<Value> Exec(const List& args, const Map& kwargs) {
  const List* argv_values = &args;
  if (args.size() == 1 && args[0].is_list())
    argv_values = &args[0].list_value();
  std::vector<std::string> argv;
  for (const Value& a : *argv_values) {
    if (!a.is_string()) {
      return TaskArgumentError(absl::StrCat(
          "exec: the command and its arguments must be strings, got ",
          a.ToString()));
    }
    argv.push_back(a.string_value());
  }
  if (argv.empty()) return TaskArgumentError("exec: no command given");
  RunOptions options;
  for (const auto& [key, value] : kwargs) {
    const std::string& k = key.string_value();
    if (k == "stdin" && (value.is_string() || value.is_bytes())) {
      options.input =
          value.is_string() ? value.string_value() : value.bytes_value();
    } else if (k == "cwd" && value.is_string()) {
      options.cwd = value.string_value();
    } else if (k == "timeout" && value.is_number() && value.AsDouble() > 0) {
      options.timeout = absl::Seconds(value.AsDouble());
    } else if (k == "env" && value.is_map()) {
      for (const auto& [name, v] : value.map_value()) {
        if (!name.is_string() || !v.is_string()) {
          return TaskArgumentError("exec: env must map strings to strings");
        }
        options.env[name.string_value()] = v.string_value();
      }
    } else {
      return TaskArgumentError(absl::StrCat(
          "exec: unknown or malformed keyword argument '", k,
          "' (stdin: string or bytes, env: map, cwd: string, timeout: "
          "seconds > 0)"));
    }
  }
  // The command dies with the worker process running this task (killed,
  // crashed, or killed for a TimeoutError); the supervisor, a subreaper,
  // then kills what is left of its process group.
  options.die_with_parent = true;
  absl::StatusOr<CompletedProcess> done = Run(argv, options);
  if (!done.ok()) return done.status();
  return Value(Map{{"returncode", done->returncode},
                   {"stdout", Output(std::move(done->out))},
                   {"stderr", Output(std::move(done->err))}});
}

}  // namespace

void AddBuiltinTasks(TaskRegistry& registry) {
  auto absent = [&registry](const char* name) {
    return registry.Find(name) == nullptr;
  };
  if (absent("echo")) registry.Add("echo", Echo);
  if (absent("identity")) registry.AddTyped("identity", Identity);
  if (absent("sleep")) registry.AddTyped("sleep", Sleep);
  if (absent("fail")) registry.AddTyped("fail", Fail);
  if (absent("getpid")) registry.AddTyped("getpid", GetPid);
  if (absent("exec")) {
    registry.Add("exec", Exec, /*needs_exec_permission=*/true);
  }
}

}  // namespace mproc
