// mproc top: the manager at a glance in the terminal, refreshed in place.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <iomanip>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "cli/command_line.h"
#include "client/manager.h"

namespace mproc {
namespace cli {
namespace {

constexpr char kTopUsage[] =
    R"(usage: mproc top [--interval S] [--once] [--pool NAME]

Shows the manager at a glance, redrawn every --interval seconds (default 1)
until Ctrl-C: its version, uptime, objects and requests per second (not
counting top's own); every pool (workers, queued, scheduled, running,
succeeded, failed, dead letters); every worker process (pool, host:pid,
state, tasks done, the task it runs and for how long); and the slowest
running tasks with their arguments. --pool NAME shows one pool. --once
prints one screen, one interval after the first look (for scripts and
logs), and exits.
)";

const Value* Field(const Map& m, const char* key) {
  auto it = m.find(Value(key));
  return it == m.end() ? nullptr : &it->second;
}

std::string Text(const Map& m, const char* key) {
  const Value* v = Field(m, key);
  if (v == nullptr || v->is_null()) return "";
  return v->is_string() ? v->string_value() : v->ToJson();
}

int64_t Int(const Map& m, const char* key) {
  const Value* v = Field(m, key);
  return v != nullptr && v->is_int() ? v->int_value() : 0;
}

double Seconds(const Map& m, const char* key) {
  const Value* v = Field(m, key);
  return v != nullptr && v->is_number() ? v->AsDouble() : 0;
}

std::string For(double seconds) {
  return seconds >= 60 ? absl::StrCat(static_cast<int64_t>(seconds / 60), " m ",
                                      static_cast<int64_t>(seconds) % 60, " s")
                       : absl::StrFormat("%.1f s", seconds);
}

// What one look at the manager finds.
struct Snapshot {
  ServerInfo info;
  absl::Time at;
  std::vector<Map> pools;    // statuses
  std::vector<Map> running;  // running task records, each with its pool
  int64_t calls = 0;         // requests this look made
};

absl::StatusOr<Snapshot> Look(Manager& manager,
                              const std::optional<std::string>& only) {
  Snapshot s;
  absl::StatusOr<ServerInfo> info = manager.Info();
  if (!info.ok()) return info.status();
  s.info = *std::move(info);
  s.at = absl::Now();
  absl::StatusOr<std::vector<ObjectInfo>> objects = manager.Objects();
  if (!objects.ok()) return objects.status();
  // Info, and the pages of objects: one per thousand, and the empty one
  // that ends the list.
  const int64_t n = static_cast<int64_t>(objects->size());
  s.calls = 1 + (n + 999) / 1000 + 1;
  for (const ObjectInfo& o : *objects) {
    if (o.kind != "pool" || (only.has_value() && o.name != *only)) continue;
    absl::StatusOr<PoolProxy> pool = manager.PoolCalls(o.name);
    if (!pool.ok()) return pool.status();
    absl::StatusOr<Map> status = pool->Status();
    absl::StatusOr<List> tasks =
        pool->Tasks(Map{{"state", "running"}, {"limit", 1000}});
    s.calls += 3;  // PoolCalls checks the pool (a status), then two calls
    if (!status.ok() || !tasks.ok()) continue;  // deleted meanwhile
    s.pools.push_back(*std::move(status));
    for (Value& t : *tasks) {
      if (!t.is_map()) continue;
      t.mutable_map()[Value("pool")] = o.name;
      s.running.push_back(t.map_value());
    }
  }
  return s;
}

std::string Screen(const Snapshot& now, const Snapshot* before,
                   const std::string& address) {
  std::ostringstream out;
  out << std::left;
  std::string rate = "-";
  if (before != nullptr) {
    const double dt = absl::ToDoubleSeconds(now.at - before->at);
    // This top's own requests (the last look's, answered in between) left
    // out.
    const int64_t served =
        now.info.requests - before->info.requests - before->calls;
    if (dt > 0) {
      rate = absl::StrCat(
          static_cast<int64_t>(std::max<int64_t>(0, served) / dt + 0.5));
    }
  }
  out << "mproc " << now.info.version << " at " << address << "  up "
      << For(now.info.uptime_seconds) << "  objects " << now.info.objects
      << "  ops/s " << rate << "\n\n";
  out << std::setw(16) << "POOL" << std::setw(9) << "WORKERS" << std::setw(8)
      << "QUEUED" << std::setw(10) << "SCHEDULED" << std::setw(9) << "RUNNING"
      << std::setw(11) << "SUCCEEDED" << std::setw(8) << "FAILED"
      << "DEAD\n";
  for (const Map& p : now.pools) {
    const Value* workers = Field(p, "workers");
    const Value* dead = Field(p, "dead_letter");
    out << std::setw(16) << Text(p, "pool") << std::setw(9)
        << (workers != nullptr && workers->is_list()
                ? workers->list_value().size()
                : 0)
        << std::setw(8) << Int(p, "queued") << std::setw(10)
        << Int(p, "scheduled") << std::setw(9) << Int(p, "running")
        << std::setw(11) << Int(p, "succeeded") << std::setw(8)
        << Int(p, "failed")
        << (dead != nullptr && dead->is_list() ? dead->list_value().size() : 0)
        << "\n";
  }
  if (now.pools.empty()) out << "(no pools yet)\n";

  const double wall = absl::ToDoubleSeconds(now.at - absl::UnixEpoch());
  out << "\n"
      << std::setw(22) << "WORKER" << std::setw(16) << "POOL" << std::setw(7)
      << "STATE" << std::setw(7) << "DONE"
      << "TASK\n";
  for (const Map& p : now.pools) {
    const Value* workers = Field(p, "workers");
    if (workers == nullptr || !workers->is_list()) continue;
    for (const Value& w : workers->list_value()) {
      if (!w.is_map()) continue;
      const Map& m = w.map_value();
      const std::string where =
          absl::StrCat(Text(m, "host"), ":", Int(m, "pid"));
      std::string task;
      for (const Map& t : now.running) {
        if (Text(t, "worker") == where && Text(t, "pool") == Text(p, "pool")) {
          task = absl::StrCat(Text(t, "name"), " (", Int(t, "id"), ") for ",
                              For(wall - Seconds(t, "started")));
          break;
        }
      }
      out << std::setw(22) << where << std::setw(16) << Text(p, "pool")
          << std::setw(7) << Text(m, "state") << std::setw(7) << Int(m, "done")
          << task << "\n";
    }
  }

  std::vector<const Map*> slowest;
  for (const Map& t : now.running) slowest.push_back(&t);
  std::sort(slowest.begin(), slowest.end(), [](const Map* a, const Map* b) {
    return Seconds(*a, "started") < Seconds(*b, "started");
  });
  if (slowest.size() > 10) slowest.resize(10);
  out << "\nSLOWEST RUNNING TASKS\n"
      << std::setw(9) << "ID" << std::setw(16) << "POOL" << std::setw(16)
      << "TASK" << std::setw(10) << "FOR" << std::setw(22) << "WORKER"
      << "ARGS\n";
  for (const Map* t : slowest) {
    out << std::setw(9) << Int(*t, "id") << std::setw(16) << Text(*t, "pool")
        << std::setw(16) << Text(*t, "name") << std::setw(10)
        << For(wall - Seconds(*t, "started")) << std::setw(22)
        << Text(*t, "worker") << Text(*t, "args") << "\n";
  }
  if (slowest.empty()) out << "(none running)\n";
  return out.str();
}

}  // namespace

int RunTopCommand(const CommandLine& cl) {
  if (cl.help) {
    std::cout << kTopUsage;
    return kExitOk;
  }
  if (cl.positional.size() > 1) return Fail(kExitUsage, kTopUsage);
  absl::Duration interval = absl::Seconds(1);
  if (auto text = cl.Flag("interval")) {
    double seconds = 0;
    if (!absl::SimpleAtod(*text, &seconds) || !(seconds >= 0.05) ||
        seconds > 3600) {
      return Fail(kExitUsage, "--interval must be 0.05 to 3600 seconds");
    }
    interval = absl::Seconds(seconds);
  }
  const bool once = cl.Flag("once").has_value();
  absl::StatusOr<std::unique_ptr<Manager>> manager = ConnectFromFlags(cl);
  if (!manager.ok()) return FailStatus(manager.status());
  const std::optional<std::string> only = cl.Flag("pool");
  // Redrawn in place on a terminal; one screen after another otherwise.
  const bool tty = isatty(STDOUT_FILENO) == 1;
  std::optional<Snapshot> before;
  for (;;) {
    absl::StatusOr<Snapshot> now = Look(**manager, only);
    if (!now.ok()) return FailStatus(now.status());
    if (!once || before.has_value()) {
      const std::string screen = Screen(
          *now, before.has_value() ? &*before : nullptr, (*manager)->address());
      std::cout << (tty ? "\x1b[H\x1b[2J" : "") << screen << (tty ? "" : "\n")
                << std::flush;
      if (once) return kExitOk;
    }
    before = *std::move(now);
    absl::SleepFor(interval);
  }
}

}  // namespace cli
}  // namespace mproc
