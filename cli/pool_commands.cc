// `mproc run -- CMD ARGS...`, `mproc submit TASK ARGS_JSON` and
// `mproc status`: the task pool from the command line.
#include <unistd.h>

#include <functional>
#include <iomanip>
#include <iostream>
#include <optional>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "cli/command_line.h"
#include "cli/pool_client.h"
#include "client/manager.h"

namespace mproc {
namespace cli {
namespace {

// The task-shaping flags of submit and run (TaskOptionsFromFlags).
constexpr char kTaskFlagsHelp[] =
    R"(
Retries and scheduling: --retries N runs it again up to N times when its
worker dies, or when it fails with an error type in --retry-on TYPES (comma
separated: TaskError, TimeoutError, UnknownTask, ArgumentError, or * for
any), after --retry-backoff S doubling each retry up to --retry-backoff-max
S (default 600), jittered within half of that. --countdown S and
--eta TIME (RFC 3339, e.g. 2026-12-02T18:30:00Z, or seconds since the
epoch) hold it back until then; --priority N (default 0; higher first);
--expires S fails it (Expired) if no worker started it that soon.
)";

constexpr char kRunUsage[] =
    R"(usage: mproc run [--timeout S] [--wait S [--cancel-on-timeout]]
                 [--pool NAME] [retry and schedule flags] -- CMD [ARGS...]

Runs CMD on a worker of the pool (default "default"; the workers need
--allow-exec), prints its stdout and stderr as they were, and exits with its
return code (128+N if it was killed by signal N). --timeout S kills the
command (and its process group) after S seconds: exit code 124. --wait S
limits how long this command waits: it prints the task id on stderr ("mproc:
task 42 submitted"), and if the command still runs after S seconds exits
with 3 (`mproc result 42` collects it later, `mproc cancel 42` stops it);
with --cancel-on-timeout a command no worker has started yet is cancelled
instead. Without --wait the id is not printed (the command's stderr is its
own): `mproc tasks --name exec` finds it.
)";

constexpr char kSubmitUsage[] =
    R"(usage: mproc submit TASK ARGS_JSON [--kwargs JSON] [--timeout S]
                    [--wait S [--cancel-on-timeout]] [--json] [--pool NAME]
                    [retry and schedule flags]

Runs task TASK with the arguments of the JSON list ARGS_JSON (e.g. '[7]')
and prints its result as JSON. Once the manager has the task, its id goes
to stderr ("mproc: task 42 submitted"): if this command is interrupted the
task carries on, and `mproc result 42` collects it. A failed task prints
its error on stderr and exits with 5. --timeout S limits the task's run
time (it then fails with TimeoutError); --wait S limits how long this
command waits: then it prints the id and exits with 3, or with
--cancel-on-timeout cancels the task if no worker has started it. --json
prints one object whatever the outcome: {"id": 42, "state": "succeeded",
"result": ...}, or "failed" with "error", "pending" (still running after
--wait) or "cancelled"; the exit codes stay the same.
)";

constexpr char kResultUsage[] =
    R"(usage: mproc result ID [--wait S] [--pool NAME]

Prints the result of task ID (as `mproc submit` printed it) as JSON,
waiting for it (for ever, or up to --wait S seconds: then exit 3). A
finished task's result stays readable for the manager's result TTL. Exit 1
if the manager has no such task (or no more); exit 5 with its error if the
task failed.
)";

constexpr char kStatusUsage[] = R"(usage: mproc status [--pool NAME] [--json]

Shows each pool's worker processes (host, pid, state, tasks done), its
queue depth, running, succeeded, failed and lost tasks and its dead letters
(tasks that killed their worker too often), and the depth of every queue.
)";

void WriteAll(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = write(fd, data.data() + done, data.size() - done);
    if (n <= 0) return;
    done += static_cast<size_t>(n);
  }
}

}  // namespace

absl::StatusOr<PoolClient> OpenPool(const CommandLine& cl) {
  PoolClient client;
  absl::StatusOr<std::unique_ptr<Manager>> manager = ConnectFromFlags(cl);
  if (!manager.ok()) return manager.status();
  client.manager = *std::move(manager);
  absl::StatusOr<std::unique_ptr<Pool>> pool =
      client.manager->Pool(cl.Flag("pool").value_or("default"));
  if (!pool.ok()) return pool.status();
  client.pool = *std::move(pool);
  return client;
}

namespace {

const std::string* TextOrBytes(const Map& m, const char* key) {
  auto it = m.find(Value(key));
  if (it == m.end()) return nullptr;
  if (it->second.is_string()) return &it->second.string_value();
  if (it->second.is_bytes()) return &it->second.bytes_value();
  return nullptr;
}

}  // namespace

namespace {

// --wait S (how long this command waits for the task) and
// --cancel-on-timeout.
struct WaitFlags {
  absl::Duration duration = absl::InfiniteDuration();
  bool cancel_on_timeout = false;
};

absl::StatusOr<WaitFlags> WaitFromFlags(const CommandLine& cl) {
  absl::StatusOr<absl::Duration> wait = DurationFlag(cl, "wait");
  if (!wait.ok()) return wait.status();
  WaitFlags flags{*wait, cl.Flag("cancel-on-timeout").has_value()};
  if (flags.cancel_on_timeout && flags.duration == absl::InfiniteDuration()) {
    return absl::InvalidArgumentError("--cancel-on-timeout needs --wait S");
  }
  return flags;
}

// After `async.Get(wait)` answered `*result`: if the task is still queued
// or running, cancels it (--cancel-on-timeout, if no worker started it)
// and returns the exit code (3) with the id on stderr; `report(state)`
// prints "pending" or "cancelled" for --json. nullopt: it finished.
std::optional<int> GiveUpAfterWait(
    PoolClient& client, const AsyncResult& async, const WaitFlags& wait,
    absl::StatusOr<Value>* result,
    const std::function<void(const char* state)>& report) {
  const int64_t id = async.task_id();
  if (result->ok() || id == 0 || async.Ready()) return std::nullopt;
  if (wait.cancel_on_timeout) {
    absl::Status cancelled = client.pool->Terminate();
    if (!cancelled.ok()) return FailStatus(cancelled);
    // A queued task's cancellation is answered at once; a running one goes
    // on, and may finish meanwhile.
    *result = async.Get(absl::Seconds(2));
  }
  if (!async.Ready()) {
    report("pending");
    return Fail(
        kExitUnavailable,
        absl::StrCat(
            "task ", id,
            wait.cancel_on_timeout ? " was already running" : " still runs",
            " after --wait: mproc result ", id, " collects it"));
  }
  if (result->status().code() == absl::StatusCode::kCancelled) {
    report("cancelled");
    return Fail(kExitUnavailable,
                absl::StrCat("task ", id, " cancelled after --wait"));
  }
  return std::nullopt;
}

}  // namespace

int RunRunCommand(const CommandLine& cl) {
  if (cl.help) {
    std::cout << kRunUsage << kTaskFlagsHelp;
    return kExitOk;
  }
  if (cl.positional.size() < 2) return Fail(kExitUsage, "run needs a command");
  absl::StatusOr<absl::Duration> timeout = TimeoutFlag(cl);
  if (!timeout.ok())
    return Fail(kExitUsage, std::string(timeout.status().message()));
  List argv(cl.positional.begin() + 1, cl.positional.end());
  mproc::Map kwargs;
  TaskOptions options;
  if (absl::Status s = TaskOptionsFromFlags(cl, &options); !s.ok()) {
    return Fail(kExitUsage, std::string(s.message()));
  }
  if (*timeout != absl::InfiniteDuration()) {
    kwargs[Value("timeout")] = absl::ToDoubleSeconds(*timeout);
    // The command's own timeout kills it; this one is a backstop.
    options.timeout = *timeout + absl::Seconds(10);
  }
  absl::StatusOr<WaitFlags> wait = WaitFromFlags(cl);
  if (!wait.ok()) return Fail(kExitUsage, std::string(wait.status().message()));
  absl::StatusOr<PoolClient> client = OpenPool(cl);
  if (!client.ok()) return FailStatus(client.status());
  AsyncResult async = client->pool->ApplyAsync(
      "exec", {Value(std::move(argv))}, std::move(kwargs), {}, {}, options);
  // The command's own stderr stays clean: the id is printed only for a
  // script that asked to stop waiting (it then needs the id).
  if (wait->duration != absl::InfiniteDuration() && async.task_id() != 0) {
    std::cerr << "mproc: task " << async.task_id() << " submitted" << std::endl;
  }
  absl::StatusOr<Value> done = async.Get(wait->duration);
  if (std::optional<int> gave_up =
          GiveUpAfterWait(*client, async, *wait, &done, [](const char*) {})) {
    return *gave_up;
  }
  if (!done.ok()) {
    if (done.status().code() == absl::StatusCode::kDeadlineExceeded) {
      std::cerr << "mproc: " << done.status().message() << std::endl;
      return 124;  // as timeout(1)
    }
    return FailStatus(done.status());
  }
  if (!done->is_map())
    return Fail(kExitFailed, "exec gave no {returncode, stdout, stderr}");
  const Map& m = done->map_value();
  if (const std::string* out = TextOrBytes(m, "stdout")) WriteAll(1, *out);
  if (const std::string* err = TextOrBytes(m, "stderr")) WriteAll(2, *err);
  auto code = m.find(Value("returncode"));
  if (code == m.end() || !code->second.is_int()) return kExitFailed;
  const int64_t rc = code->second.int_value();
  return rc >= 0 ? static_cast<int>(rc & 0xff) : 128 + static_cast<int>(-rc);
}

int RunSubmitCommand(const CommandLine& cl) {
  if (cl.help) {
    std::cout << kSubmitUsage << kTaskFlagsHelp;
    return kExitOk;
  }
  if (cl.positional.size() < 2 || cl.positional.size() > 3) {
    return Fail(kExitUsage, "usage: mproc submit TASK [ARGS_JSON]");
  }
  List args;
  if (cl.positional.size() == 3) {
    absl::StatusOr<Value> parsed = Value::FromJson(cl.positional[2]);
    if (!parsed.ok() || !parsed->is_list()) {
      return Fail(kExitUsage, "ARGS_JSON must be a JSON list, e.g. '[7]'");
    }
    args = parsed->list_value();
  }
  mproc::Map kwargs;
  if (auto text = cl.Flag("kwargs")) {
    absl::StatusOr<Value> parsed = Value::FromJson(*text);
    if (!parsed.ok() || !parsed->is_map()) {
      return Fail(kExitUsage, "--kwargs must be a JSON object");
    }
    kwargs = parsed->map_value();
  }
  absl::StatusOr<absl::Duration> timeout = TimeoutFlag(cl);
  if (!timeout.ok())
    return Fail(kExitUsage, std::string(timeout.status().message()));
  absl::StatusOr<WaitFlags> wait = WaitFromFlags(cl);
  if (!wait.ok()) return Fail(kExitUsage, std::string(wait.status().message()));
  TaskOptions options;
  options.timeout = *timeout;
  if (absl::Status s = TaskOptionsFromFlags(cl, &options); !s.ok()) {
    return Fail(kExitUsage, std::string(s.message()));
  }
  absl::StatusOr<PoolClient> client = OpenPool(cl);
  if (!client.ok()) return FailStatus(client.status());
  AsyncResult async = client->pool->ApplyAsync(
      cl.positional[1], std::move(args), std::move(kwargs), {}, {}, options);
  const int64_t id = async.task_id();  // once the manager has it
  if (id != 0) std::cerr << "mproc: task " << id << " submitted" << std::endl;
  // --json: one object on stdout whatever the outcome (exit codes as
  // without it; the error goes to stderr too).
  const bool json = cl.Flag("json").has_value();
  auto report = [&](const char* state, Map extra = {}) {
    if (!json) return;
    extra[Value("id")] = id;
    extra[Value("state")] = state;
    std::cout << Value(std::move(extra)).ToJson() << std::endl;
  };
  absl::StatusOr<Value> result = async.Get(wait->duration);
  if (std::optional<int> gave_up =
          GiveUpAfterWait(*client, async, *wait, &result, report)) {
    return *gave_up;
  }
  if (!result.ok()) {
    if (id != 0) {
      report("failed",
             {{Value("error"), Value(std::string(result.status().message()))}});
    }
    return FailStatus(result.status());
  }
  if (json) {
    report("succeeded", {{Value("result"), *std::move(result)}});
  } else {
    std::cout << result->ToJson() << std::endl;
  }
  return kExitOk;
}

int RunResultCommand(const CommandLine& cl) {
  if (cl.help) {
    std::cout << kResultUsage;
    return kExitOk;
  }
  int64_t id = 0;
  if (cl.positional.size() != 2 || !absl::SimpleAtoi(cl.positional[1], &id) ||
      id < 1) {
    return Fail(kExitUsage, kResultUsage);
  }
  absl::StatusOr<absl::Duration> wait = DurationFlag(cl, "wait");
  if (!wait.ok()) return Fail(kExitUsage, std::string(wait.status().message()));
  absl::StatusOr<PoolClient> client = OpenPool(cl);
  if (!client.ok()) return FailStatus(client.status());
  absl::StatusOr<Value> result = client->pool->GetResult(id, *wait);
  if (!result.ok()) return FailStatus(result.status());
  std::cout << result->ToJson() << std::endl;
  return kExitOk;
}

namespace {

std::string Text(const Map& m, const char* key) {
  auto it = m.find(Value(key));
  if (it == m.end()) return "";
  return it->second.is_string() ? it->second.string_value()
                                : it->second.ToString();
}

void PrintPool(const Map& s) {
  auto workers = s.find(Value("workers"));
  const List empty;
  const List& rows = workers != s.end() && workers->second.is_list()
                         ? workers->second.list_value()
                         : empty;
  std::cout << "pool '" << Text(s, "pool") << "': " << rows.size()
            << " worker processes, " << Text(s, "queued") << " queued, "
            << Text(s, "running") << " running, " << Text(s, "succeeded")
            << " succeeded, " << Text(s, "failed") << " failed, "
            << Text(s, "lost") << " lost, " << Text(s, "retried")
            << " retried, " << Text(s, "results_waiting")
            << " results unread\n";
  const std::string recovered_tasks = Text(s, "recovered_tasks");
  const std::string recovered_results = Text(s, "recovered_results");
  if ((!recovered_tasks.empty() && recovered_tasks != "0") ||
      (!recovered_results.empty() && recovered_results != "0")) {
    std::cout << "  recovered at start: " << recovered_tasks
              << " tasks queued again, " << recovered_results
              << " results kept\n";
  }
  if (!rows.empty()) {
    std::cout << "  " << std::left << std::setw(24) << "HOST" << std::setw(9)
              << "PID" << std::setw(10) << "STATE" << std::setw(9) << "RUNNING"
              << "DONE\n";
    for (const Value& row : rows) {
      if (!row.is_map()) continue;
      const Map& w = row.map_value();
      std::cout << "  " << std::left << std::setw(24) << Text(w, "host")
                << std::setw(9) << Text(w, "pid") << std::setw(10)
                << Text(w, "state") << std::setw(9) << Text(w, "running")
                << Text(w, "done") << "\n";
    }
  }
  auto dead = s.find(Value("dead_letter"));
  if (dead != s.end() && dead->second.is_list() &&
      !dead->second.list_value().empty()) {
    std::cout << "  dead letters:\n";
    for (const Value& row : dead->second.list_value()) {
      if (!row.is_map()) continue;
      std::cout << "    task " << Text(row.map_value(), "task_id") << " '"
                << Text(row.map_value(), "name")
                << "': " << Text(row.map_value(), "error") << "\n";
    }
  }
}

}  // namespace

int RunStatusCommand(const CommandLine& cl) {
  if (cl.help) {
    std::cout << kStatusUsage;
    return kExitOk;
  }
  if (cl.positional.size() > 1)
    return Fail(kExitUsage, "status takes no arguments");
  absl::StatusOr<std::unique_ptr<Manager>> manager = ConnectFromFlags(cl);
  if (!manager.ok()) return FailStatus(manager.status());
  absl::StatusOr<std::vector<ObjectInfo>> objects = (*manager)->Objects();
  if (!objects.ok()) return FailStatus(objects.status());
  std::vector<std::string> pools;
  List queues;
  for (const ObjectInfo& o : *objects) {
    if (o.kind == "pool") pools.push_back(o.name);
    if (o.kind == "queue")
      queues.push_back(Map{{"name", o.name}, {"size", o.size}});
  }
  if (auto only = cl.Flag("pool")) {
    if (std::find(pools.begin(), pools.end(), *only) == pools.end()) {
      return Fail(kExitFailed, absl::StrCat("NOT_FOUND: no pool named '", *only,
                                            "' (pools are made by use)"));
    }
    pools = {*only};
  }
  List statuses;
  for (const std::string& name : pools) {
    absl::StatusOr<PoolProxy> proxy = (*manager)->PoolCalls(name);
    if (!proxy.ok()) return FailStatus(proxy.status());
    absl::StatusOr<mproc::Map> s = proxy->Status();
    if (!s.ok()) return FailStatus(s.status());
    statuses.push_back(*std::move(s));
  }
  if (cl.Flag("json").has_value()) {
    std::cout << Value(Map{{"pools", statuses}, {"queues", queues}}).ToJson()
              << std::endl;
    return kExitOk;
  }
  if (statuses.empty()) std::cout << "no pools yet\n";
  for (const Value& s : statuses) PrintPool(s.map_value());
  for (const Value& q : queues) {
    std::cout << "queue '" << Text(q.map_value(), "name")
              << "': " << Text(q.map_value(), "size") << " items\n";
  }
  return kExitOk;
}

}  // namespace cli
}  // namespace mproc
