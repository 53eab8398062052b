// `mproc tasks`, `mproc cancel ID`, `mproc dead-letters` and `mproc
// requeue`: finding and steering a pool's tasks; and the scheduling flags
// of `submit` and `run`.
#include <iomanip>
#include <iostream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "cli/command_line.h"
#include "cli/pool_client.h"

namespace mproc {
namespace cli {
namespace {

constexpr char kTasksUsage[] =
    R"(usage: mproc tasks [--pool NAME] [--state S] [--name TASK] [--limit K]
                   [--json]

Lists the pool's tasks, oldest first (the newest K, default 100): id, state,
task name, where it runs or ran (host:pid), attempts, when it was submitted,
its arguments (shortened) and its error. States: queued, scheduled (waiting
for its countdown, eta or retry backoff), running, succeeded, failed,
cancelled, lost (its worker died too often), expired. Finished tasks are
listed for the manager's result TTL (the newest --task-records). --json
prints the full records, each attempt too.

usage: mproc tasks ID [--pool NAME]
prints one task's record as JSON (exit 1 if unknown or gone).
)";

constexpr char kCancelUsage[] = R"(usage: mproc cancel ID [--pool NAME]

Cancels task ID: a queued or scheduled task never runs; a running one's
worker process is stopped within about a second (and replaced). Its result
becomes a Cancelled error. Prints the state it was in. Exit 1 if it has
finished or is unknown; 4 without the admin role.
)";

constexpr char kDeadLettersUsage[] =
    R"(usage: mproc dead-letters [--pool NAME] [--json]

Lists the tasks that failed for good (their error, after their retries),
with their arguments: what `mproc requeue` can run again. The newest 1000
are kept.
)";

constexpr char kRequeueUsage[] =
    R"(usage: mproc requeue ID... | --all-dead [--pool NAME]

Runs dead letters again as new tasks (same task, same arguments, fresh
retries) and prints "OLD -> NEW" for each; `mproc result NEW` collects
the result. Needs the admin role. Exit 1 if an ID is not a dead letter.
)";

std::string Field(const Map& m, const char* key) {
  auto it = m.find(Value(key));
  if (it == m.end() || it->second.is_null()) return "-";
  return it->second.is_string() ? it->second.string_value()
                                : it->second.ToJson();
}

// A time in seconds since the epoch, as local HH:MM:SS (today) or date.
std::string When(const Map& m, const char* key) {
  auto it = m.find(Value(key));
  if (it == m.end() || !it->second.is_number()) return "-";
  const absl::Time t =
      absl::FromUnixMicros(static_cast<int64_t>(it->second.AsDouble() * 1e6));
  const bool today = absl::Now() - t < absl::Hours(20);
  return absl::FormatTime(today ? "%H:%M:%S" : "%Y-%m-%d %H:%M", t,
                          absl::LocalTimeZone());
}

absl::StatusOr<PoolProxy> PoolCallsFromFlags(const CommandLine& cl,
                                             std::unique_ptr<Manager>* keep) {
  absl::StatusOr<std::unique_ptr<Manager>> manager = ConnectFromFlags(cl);
  if (!manager.ok()) return manager.status();
  *keep = *std::move(manager);
  return (*keep)->PoolCalls(cl.Flag("pool").value_or("default"));
}

absl::StatusOr<int64_t> TaskId(const std::string& text) {
  int64_t id = 0;
  if (!absl::SimpleAtoi(text, &id) || id < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("a task id is an integer >= 1, got '", text, "'"));
  }
  return id;
}

}  // namespace

absl::Status TaskOptionsFromFlags(const CommandLine& cl, TaskOptions* options) {
  if (auto retries = cl.Flag("retries")) {
    if (!absl::SimpleAtoi(*retries, &options->max_retries) ||
        options->max_retries < 0) {
      return absl::InvalidArgumentError("--retries must be an integer >= 0");
    }
  }
  if (auto on = cl.Flag("retry-on")) {
    options->retry_on = absl::StrSplit(*on, ',', absl::SkipEmpty());
    if (options->retry_on.empty()) {
      return absl::InvalidArgumentError(
          "--retry-on needs error types, e.g. TaskError,TimeoutError");
    }
    if (options->max_retries == 0) {
      return absl::InvalidArgumentError("--retry-on needs --retries N");
    }
  }
  struct {
    const char* flag;
    absl::Duration* into;
  } durations[] = {{"retry-backoff", &options->retry_backoff},
                   {"retry-backoff-max", &options->retry_backoff_max},
                   {"countdown", &options->countdown},
                   {"expires", &options->expires}};
  for (const auto& d : durations) {
    if (!cl.Flag(d.flag).has_value()) continue;
    absl::StatusOr<absl::Duration> value =
        DurationFlag(cl, d.flag, /*zero_allowed=*/true);
    if (!value.ok()) return value.status();
    *d.into = *value;
  }
  if (auto eta = cl.Flag("eta")) {
    double unix_seconds = 0;
    absl::Time t;
    std::string error;
    if (absl::SimpleAtod(*eta, &unix_seconds) && unix_seconds > 0) {
      t = absl::FromUnixMicros(static_cast<int64_t>(unix_seconds * 1e6));
    } else if (!absl::ParseTime(absl::RFC3339_full, *eta, &t, &error)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--eta must be a time like 2026-12-02T18:30:00Z (or +01:00) or "
          "seconds since the epoch, got '",
          *eta, "'"));
    }
    options->eta = t;
  }
  if (auto priority = cl.Flag("priority")) {
    if (!absl::SimpleAtoi(*priority, &options->priority)) {
      return absl::InvalidArgumentError(
          "--priority must be an integer (higher runs first)");
    }
  }
  return absl::OkStatus();
}

int RunTasksCommand(const CommandLine& cl) {
  if (cl.help) {
    std::cout << kTasksUsage;
    return kExitOk;
  }
  if (cl.positional.size() > 2) return Fail(kExitUsage, kTasksUsage);
  std::unique_ptr<Manager> manager;
  if (cl.positional.size() == 2) {
    absl::StatusOr<int64_t> id = TaskId(cl.positional[1]);
    if (!id.ok()) return Fail(kExitUsage, std::string(id.status().message()));
    absl::StatusOr<PoolProxy> pool = PoolCallsFromFlags(cl, &manager);
    if (!pool.ok()) return FailStatus(pool.status());
    absl::StatusOr<Map> record = pool->Task(*id);
    if (!record.ok()) return FailStatus(record.status());
    std::cout << Value(*std::move(record)).ToJson() << std::endl;
    return kExitOk;
  }
  Map filter;
  if (auto state = cl.Flag("state")) filter[Value("state")] = *state;
  if (auto name = cl.Flag("name")) filter[Value("name")] = *name;
  if (auto limit = cl.Flag("limit")) {
    int64_t n = 0;
    if (!absl::SimpleAtoi(*limit, &n) || n < 1) {
      return Fail(kExitUsage, "--limit must be an integer >= 1");
    }
    filter[Value("limit")] = n;
  }
  absl::StatusOr<PoolProxy> pool = PoolCallsFromFlags(cl, &manager);
  if (!pool.ok()) return FailStatus(pool.status());
  absl::StatusOr<List> rows = pool->Tasks(filter);
  if (!rows.ok()) {
    return rows.status().code() == absl::StatusCode::kInvalidArgument
               ? Fail(kExitUsage, ErrorText(rows.status()))
               : FailStatus(rows.status());
  }
  if (cl.Flag("json").has_value()) {
    std::cout << Value(*std::move(rows)).ToJson() << std::endl;
    return kExitOk;
  }
  std::cout << std::left << std::setw(8) << "ID" << std::setw(11) << "STATE"
            << std::setw(16) << "TASK" << std::setw(22) << "WORKER"
            << std::setw(5) << "TRY" << std::setw(10) << "SUBMITTED"
            << "ARGS / ERROR\n";
  for (const Value& row : *rows) {
    if (!row.is_map()) continue;
    const Map& t = row.map_value();
    std::string detail = Field(t, "args");
    if (t.count(Value("error")) > 0) {
      absl::StrAppend(&detail, "  ", Field(t, "error"));
    }
    std::cout << std::left << std::setw(8) << Field(t, "id") << std::setw(11)
              << Field(t, "state") << std::setw(16) << Field(t, "name")
              << std::setw(22) << Field(t, "worker") << std::setw(5)
              << Field(t, "attempts") << std::setw(10) << When(t, "submitted")
              << detail << "\n";
  }
  return kExitOk;
}

int RunCancelCommand(const CommandLine& cl) {
  if (cl.help) {
    std::cout << kCancelUsage;
    return kExitOk;
  }
  if (cl.positional.size() != 2) return Fail(kExitUsage, kCancelUsage);
  absl::StatusOr<int64_t> id = TaskId(cl.positional[1]);
  if (!id.ok()) return Fail(kExitUsage, std::string(id.status().message()));
  std::unique_ptr<Manager> manager;
  absl::StatusOr<PoolProxy> pool = PoolCallsFromFlags(cl, &manager);
  if (!pool.ok()) return FailStatus(pool.status());
  absl::StatusOr<std::string> was = pool->CancelTask(*id);
  if (!was.ok()) return FailStatus(was.status());
  std::cout << "task " << *id << " cancelled (it was " << *was << ")"
            << std::endl;
  return kExitOk;
}

int RunDeadLettersCommand(const CommandLine& cl) {
  if (cl.help) {
    std::cout << kDeadLettersUsage;
    return kExitOk;
  }
  if (cl.positional.size() != 1) return Fail(kExitUsage, kDeadLettersUsage);
  std::unique_ptr<Manager> manager;
  absl::StatusOr<PoolProxy> pool = PoolCallsFromFlags(cl, &manager);
  if (!pool.ok()) return FailStatus(pool.status());
  absl::StatusOr<Map> status = pool->Status();
  if (!status.ok()) return FailStatus(status.status());
  auto dead = status->find(Value("dead_letter"));
  const Value letters =
      dead != status->end() && dead->second.is_list() ? dead->second : List{};
  if (cl.Flag("json").has_value()) {
    std::cout << letters.ToJson() << std::endl;
    return kExitOk;
  }
  if (letters.list_value().empty()) std::cout << "no dead letters\n";
  for (const Value& row : letters.list_value()) {
    if (!row.is_map()) continue;
    const Map& d = row.map_value();
    std::cout << "task " << Field(d, "task_id") << " '" << Field(d, "name")
              << "' " << Field(d, "args") << " after " << Field(d, "attempts")
              << " attempt(s): " << Field(d, "error") << "\n";
  }
  return kExitOk;
}

int RunRequeueCommand(const CommandLine& cl) {
  if (cl.help) {
    std::cout << kRequeueUsage;
    return kExitOk;
  }
  const bool all = cl.Flag("all-dead").has_value();
  if (all == (cl.positional.size() > 1)) return Fail(kExitUsage, kRequeueUsage);
  List ids;
  for (size_t i = 1; i < cl.positional.size(); ++i) {
    absl::StatusOr<int64_t> id = TaskId(cl.positional[i]);
    if (!id.ok()) return Fail(kExitUsage, std::string(id.status().message()));
    ids.push_back(*id);
  }
  absl::StatusOr<PoolClient> client = OpenPool(cl);
  if (!client.ok()) return FailStatus(client.status());
  // One call: all of them or, if one is not a dead letter, none.
  absl::StatusOr<List> pairs =
      all ? client->pool->RequeueAllDead() : client->pool->RequeueDead(ids);
  if (!pairs.ok()) return FailStatus(pairs.status());
  if (pairs->empty()) std::cout << "no dead letters to requeue\n";
  for (const Value& pair : *pairs) {
    if (!pair.is_list() || pair.list_value().size() != 2) continue;
    std::cout << pair.list_value()[0].ToJson() << " -> "
              << pair.list_value()[1].ToJson() << "\n";
  }
  return kExitOk;
}

}  // namespace cli
}  // namespace mproc
