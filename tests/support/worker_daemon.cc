#include "tests/support/worker_daemon.h"

#include <signal.h>

#include <algorithm>
#include <cstdlib>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace mproc {
namespace testing {

std::string ExampleWorkerBinary() {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  std::string base = srcdir == nullptr ? "." : absl::StrCat(srcdir, "/mproc");
  return base + "/examples/pool_worker";
}

absl::StatusOr<std::unique_ptr<WorkerDaemon>> WorkerDaemon::Start(
    const std::string& address, const std::string& pool, int processes,
    std::vector<std::string> extra, const std::string& binary) {
  std::vector<std::string> argv = {binary};
  if (absl::EndsWith(binary, "/mproc")) argv.push_back("worker");
  for (const std::string& a :
       {std::string("--manager"), address, std::string("--pool"), pool,
        std::string("--processes"), std::to_string(processes)}) {
    argv.push_back(a);
  }
  for (std::string& a : extra) argv.push_back(std::move(a));
  PopenOptions options;
  options.stdout_mode = StreamMode::kDevNull;  // its log; stderr stays ours
  absl::StatusOr<std::unique_ptr<Popen>> child = Popen::Start(argv, options);
  if (!child.ok()) return child.status();
  return std::unique_ptr<WorkerDaemon>(new WorkerDaemon(*std::move(child)));
}

WorkerDaemon::~WorkerDaemon() {
  if (child_->Poll().has_value()) return;
  (void)child_->Terminate();
  if (!child_->Wait(absl::Seconds(10)).ok()) {
    (void)child_->Kill();
    (void)child_->Wait();
  }
}

absl::StatusOr<int> WorkerDaemon::SignalAndWait(int signal,
                                                absl::Duration timeout) {
  if (absl::Status s = child_->SendSignal(signal); !s.ok()) return s;
  return child_->Wait(timeout);
}

absl::StatusOr<Map> AwaitPoolStatus(Manager& manager, const std::string& pool,
                                    const std::function<bool(const Map&)>& done,
                                    absl::Duration timeout) {
  absl::StatusOr<PoolProxy> proxy = manager.PoolCalls(pool);
  if (!proxy.ok()) return proxy.status();
  const absl::Time deadline = absl::Now() + timeout;
  Map last;
  for (;;) {
    absl::StatusOr<Map> status = proxy->Status();
    if (!status.ok()) return status.status();
    last = *std::move(status);
    if (done(last)) return last;
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError(absl::StrCat(
          "pool '", pool,
          "' did not reach the awaited state: ", Value(last).ToString()));
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
}

List WorkerRows(const Map& status) {
  auto it = status.find(Value("workers"));
  if (it == status.end() || !it->second.is_list()) return {};
  return it->second.list_value();
}

std::vector<int64_t> WorkerPids(const Map& status, bool busy_only) {
  std::vector<int64_t> pids;
  for (const Value& row : WorkerRows(status)) {
    const Map& w = row.map_value();
    if (busy_only && w.at(Value("running")).int_value() == 0) continue;
    pids.push_back(w.at(Value("pid")).int_value());
  }
  std::sort(pids.begin(), pids.end());
  return pids;
}

}  // namespace testing
}  // namespace mproc
