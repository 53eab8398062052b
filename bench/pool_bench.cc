// mproc's side of the task-pool benchmark (run by bench/compare_pool.py
// against an `mproc up --processes 2` sidecar): the workloads of
// python_pool_bench.py through mproc::Pool with the stock tasks.
#include <atomic>
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "bench/report.h"
#include "client/manager.h"

ABSL_FLAG(std::string, manager, "127.0.0.1:50051", "manager address");
ABSL_FLAG(double, scale, 1.0, "multiplies every workload's size");
ABSL_FLAG(int, processes, 2, "worker processes serving the pool");
ABSL_FLAG(bool, async_only, false, "run only the apply_async workload");
ABSL_FLAG(int64_t, queued, 0,
          "instead: submit this many tasks to a pool with no workers, say "
          "\"queued\" once the manager holds them all, then time the drain "
          "once workers come");

namespace mproc {
namespace bench {
namespace {

// --queued N: a deep task queue. Submits N trivial tasks before any worker
// exists, prints the submission rate, prints a "queued" row once the
// manager holds them (the runner then reads the manager's memory and starts
// workers), and prints the drain rate when every result is back.
int Queued(Pool& p, int64_t n) {
  std::atomic<int64_t> done{0};
  const auto start = Clock::now();
  for (int64_t i = 0; i < n; ++i) {
    p.ApplyAsync("identity", {i}, {}, [&](const Value&) { done.fetch_add(1); });
  }
  for (;;) {
    auto status = p.Status();
    if (!status.ok()) return 1;
    if (status->at(Value("queued")) == Value(n)) break;
    absl::SleepFor(absl::Milliseconds(20));  // polling the manager's count
  }
  PrintRow("local", "submit to a pool with no workers",
           n / Seconds(Clock::now() - start), nullptr);
  std::cout << "{\"system\": \"mproc\", \"transport\": \"local\", "
               "\"workload\": \"queued\", \"tasks\": "
            << n << "}" << std::endl;
  const auto drain = Clock::now();
  while (done.load() < n) absl::SleepFor(absl::Milliseconds(5));
  PrintRow("local", "drain of the deep queue",
           n / Seconds(Clock::now() - drain), nullptr);
  return 0;
}

int Run() {
  const double scale = absl::GetFlag(FLAGS_scale);
  const int n_async = static_cast<int>(20000 * scale);
  const int n_apply = static_cast<int>(2000 * scale);
  const int n_map = static_cast<int>(100000 * scale);
  const int n_map1 = static_cast<int>(20000 * scale);
  const int n_sleep = static_cast<int>(2000 * scale);
  auto manager = Manager::Connect(absl::GetFlag(FLAGS_manager));
  if (!manager.ok()) {
    std::cerr << manager.status() << std::endl;
    return 1;
  }
  auto pool = (*manager)->Pool();
  if (!pool.ok()) {
    std::cerr << pool.status() << std::endl;
    return 1;
  }
  Pool& p = **pool;
  if (const int64_t n = absl::GetFlag(FLAGS_queued); n > 0) return Queued(p, n);
  {
    List warm;
    for (int i = 0; i < 100; ++i) warm.push_back(i);
    if (!p.Map("echo", warm).ok()) return 1;
  }

  {
    std::atomic<int> done{0};
    absl::Mutex mu;
    const auto start = Clock::now();
    for (int i = 0; i < n_async; ++i) {
      p.ApplyAsync("echo", {i}, {}, [&](const Value&) { done.fetch_add(1); });
    }
    auto all = [&] { return done.load() == n_async; };
    absl::MutexLock l(&mu);
    while (!mu.AwaitWithTimeout(absl::Condition(&all), absl::Milliseconds(1))) {
    }
    PrintRow("local", "apply_async trivial",
             n_async / Seconds(Clock::now() - start), nullptr);
  }
  if (absl::GetFlag(FLAGS_async_only)) return 0;
  {
    std::vector<double> lat;
    const auto start = Clock::now();
    for (int i = 0; i < n_apply; ++i) {
      const auto t0 = Clock::now();
      if (!p.Apply("echo", {i}).ok()) return 1;
      lat.push_back(Seconds(Clock::now() - t0) * 1e6);
    }
    PrintRow("local", "apply (blocking)",
             n_apply / Seconds(Clock::now() - start), &lat);
  }
  for (auto [workload, n, chunksize] :
       {std::tuple<const char*, int, int>{"map, default chunks", n_map, 0},
        {"map, chunksize=1", n_map1, 1}}) {
    List items;
    items.reserve(n);
    for (int i = 0; i < n; ++i) items.push_back(i);
    const auto start = Clock::now();
    auto r = p.Map("identity", items, chunksize);
    if (!r.ok()) {
      std::cerr << r.status() << std::endl;
      return 1;
    }
    PrintRow("local", workload, n / Seconds(Clock::now() - start), nullptr);
  }
  {
    List items(n_sleep, Value(0.001));
    const auto start = Clock::now();
    if (!p.Map("sleep", items, 1).ok()) return 1;
    const double wall = Seconds(Clock::now() - start);
    const double ideal = n_sleep * 0.001 / absl::GetFlag(FLAGS_processes);
    PrintRow("local", "1 ms tasks (efficiency %)", 100 * ideal / wall, nullptr);
  }
  return 0;
}

}  // namespace
}  // namespace bench
}  // namespace mproc

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return mproc::bench::Run();
}
