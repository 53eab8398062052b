// mproc's scaling curves (run by bench/scaling.py against a fresh
// `mproc manager`): how a dict get costs as the dict grows, a queue pair as
// the queue deepens, aggregate gets as clients multiply, and the manager's
// memory per entry (keys named as redis-benchmark's, "key:%012d", so the
// Redis points of bench/redis_bench.py hold the same data), and a get's
// cost with up to 1,000 idle connections open. One JSON line
// per point:
//   {"system": "mproc", "curve": ..., "x": ..., "ops_per_s": ...,
//    "p50_us": ..., "p99_us": ..., "rss_mb": ...}
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <iostream>
#include <iterator>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "bench/client_processes.h"
#include "bench/report.h"
#include "client/manager.h"

ABSL_FLAG(std::string, manager, "127.0.0.1:50051", "manager address");
ABSL_FLAG(int, manager_pid, 0, "the manager's pid, for its memory");
ABSL_FLAG(std::string, entries, "1000,100000,1000000", "dict sizes");
ABSL_FLAG(std::string, clients, "1,8,64,256", "client process counts");
ABSL_FLAG(int64_t, deep_queue, 1000000, "queue depth of the deep point");
ABSL_FLAG(std::string, connections, "8,64,256",
          "connection counts, spread over 8 client processes");
ABSL_FLAG(std::string, idle, "0,100,1000", "idle connection counts");
ABSL_FLAG(bool, idle_only, false,
          "only the idle-connection points (run against a fresh manager, so "
          "its memory is its connections')");

namespace mproc {
namespace bench {
namespace {

void Die(const std::string& what, const absl::Status& s) {
  std::cerr << "scaling_bench: " << what << ": " << s << std::endl;
  std::exit(1);
}

double ManagerRssMb() {
  const int pid = absl::GetFlag(FLAGS_manager_pid);
  if (pid == 0) return 0;
  std::ifstream status(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atof(line.c_str() + 6) / 1024;
  }
  return 0;
}

// CPU seconds the manager has used so far (0 if its pid is unknown).
double ManagerCpuSeconds() {
  const int pid = absl::GetFlag(FLAGS_manager_pid);
  if (pid == 0) return 0;
  std::ifstream stat(absl::StrCat("/proc/", pid, "/stat"));
  std::string text((std::istreambuf_iterator<char>(stat)),
                   std::istreambuf_iterator<char>());
  // Fields after the command name, which ends with the last ')'.
  std::vector<std::string> fields =
      absl::StrSplit(text.substr(text.rfind(')') + 2), ' ');
  if (fields.size() < 13) return 0;
  return (std::atof(fields[11].c_str()) + std::atof(fields[12].c_str())) /
         sysconf(_SC_CLK_TCK);
}

void Point(const std::string& curve, int64_t x, double ops_per_s,
           std::vector<double>* lat, const std::string& extra = "") {
  std::string line =
      absl::StrCat("{\"system\": \"mproc\", \"curve\": \"", curve,
                   "\", \"x\": ", x, ", \"ops_per_s\": ", ops_per_s);
  if (lat != nullptr && !lat->empty()) {
    std::sort(lat->begin(), lat->end());
    absl::StrAppend(&line, ", \"p50_us\": ", (*lat)[lat->size() / 2],
                    ", \"p99_us\": ", (*lat)[lat->size() * 99 / 100]);
  }
  absl::StrAppend(&line, ", \"rss_mb\": ", ManagerRssMb(), extra, "}");
  std::cout << line << std::endl;
}

std::vector<int64_t> Sizes(const std::string& list) {
  std::vector<int64_t> out;
  for (absl::string_view part : absl::StrSplit(list, ',')) {
    out.push_back(std::atoll(std::string(part).c_str()));
  }
  return out;
}

std::unique_ptr<Manager> ConnectOrDie() {
  auto m = Manager::Connect(absl::GetFlag(FLAGS_manager));
  if (!m.ok()) Die("connect", m.status());
  return *std::move(m);
}

// Gets of random keys of a dict of n entries.
void DictBySize(Manager& m) {
  std::mt19937_64 random(1);
  for (int64_t n : Sizes(absl::GetFlag(FLAGS_entries))) {
    auto d = m.Dict(absl::StrCat("scale-dict-", n));
    if (!d.ok()) Die("dict", d.status());
    for (int64_t i = 0; i < n; i += 10000) {
      Map batch;
      for (int64_t k = i; k < std::min(n, i + 10000); ++k) {
        batch[Value(absl::StrFormat("key:%012d", k))] = k;
      }
      if (absl::Status s = d->Update(batch); !s.ok()) Die("fill", s);
    }
    std::vector<double> lat;
    const int gets = 5000;
    const auto start = Clock::now();
    for (int i = 0; i < gets; ++i) {
      const std::string key = absl::StrFormat("key:%012d", random() % n);
      const auto t0 = Clock::now();
      if (!d->Get(key).ok()) Die("get", absl::InternalError(key));
      lat.push_back(Seconds(Clock::now() - t0) * 1e6);
    }
    Point("dict get by entries", n, gets / Seconds(Clock::now() - start), &lat);
    if (!m.DeleteObject(d->name()).ok()) Die("delete", absl::InternalError(""));
  }
}

// put+get pairs on an empty queue and on a deep one.
void QueueByDepth(Manager& m) {
  for (int64_t depth : {int64_t{0}, absl::GetFlag(FLAGS_deep_queue)}) {
    auto q = m.Queue(absl::StrCat("scale-queue-", depth));
    if (!q.ok()) Die("queue", q.status());
    for (int64_t i = 0; i < depth; i += 10000) {
      List batch(std::min<int64_t>(10000, depth - i), Value(int64_t{1}));
      if (absl::Status s = q->PutMany(batch); !s.ok()) Die("fill", s);
    }
    std::vector<double> lat;
    const int pairs = 2000;
    const auto start = Clock::now();
    for (int i = 0; i < pairs; ++i) {
      const auto t0 = Clock::now();
      if (!q->Put(i).ok() || !q->Get().ok())
        Die("pair", absl::InternalError(""));
      lat.push_back(Seconds(Clock::now() - t0) * 1e6);
    }
    Point("queue put+get by depth", depth,
          pairs / Seconds(Clock::now() - start), &lat);
    if (!m.DeleteObject(q->name()).ok()) Die("delete", absl::InternalError(""));
  }
}

// Aggregate gets of C client processes at once.
void GetsByClients(Manager& m) {
  auto d = m.Dict("scale-clients");
  if (!d.ok() || !d->Set("k", 1).ok()) Die("dict", d.status());
  const std::string address = absl::GetFlag(FLAGS_manager);
  for (int64_t clients : Sizes(absl::GetFlag(FLAGS_clients))) {
    const int per = static_cast<int>(std::max<int64_t>(300, 40000 / clients));
    const double cpu_before = ManagerCpuSeconds();
    const double seconds = RunClientProcesses(clients, [&](int) {
      auto own = Manager::Connect(address);
      if (!own.ok()) return 2;
      auto dict = (*own)->Dict("scale-clients");
      if (!dict.ok() || !dict->Get("k").ok()) return 3;  // connected
      if (!StartTogether()) return 4;
      for (int i = 0; i < per; ++i) {
        if (!dict->Get("k").ok()) return 5;
      }
      DoneMeasuring();
      return 0;
    });
    if (seconds < 0) Die("clients", absl::InternalError("a client failed"));
    // How busy the manager was: below 100 %, the clients were the limit.
    // (Its CPU from the clients' connecting and leaving is counted too.)
    const double busy = (ManagerCpuSeconds() - cpu_before) / seconds * 100;
    Point("dict gets by clients", clients, per * clients / seconds, nullptr,
          absl::StrCat(", \"server_cpu_pct\": ", static_cast<int>(busy)));
  }
}

// Aggregate gets over N connections from 8 client processes (a thread and
// a Manager each): as many connections as GetsByClients, without as many
// processes competing for the cores (redis-benchmark, the anchor, drives
// all its connections from one process).
void GetsByConnections(Manager& m) {
  constexpr int kProcesses = 8;
  auto d = m.Dict("scale-clients");
  if (!d.ok() || !d->Set("k", 1).ok()) Die("dict", d.status());
  const std::string address = absl::GetFlag(FLAGS_manager);
  for (int64_t connections : Sizes(absl::GetFlag(FLAGS_connections))) {
    const int threads =
        static_cast<int>(std::max<int64_t>(1, connections / kProcesses));
    const int per =
        static_cast<int>(std::max<int64_t>(300, 40000 / connections));
    const double cpu_before = ManagerCpuSeconds();
    const double seconds = RunClientProcesses(kProcesses, [&](int) {
      std::vector<std::unique_ptr<Manager>> managers;
      std::vector<DictProxy> dicts;
      for (int t = 0; t < threads; ++t) {
        auto own = Manager::Connect(address);
        if (!own.ok()) return 2;
        auto dict = (*own)->Dict("scale-clients");
        if (!dict.ok() || !dict->Get("k").ok()) return 3;  // connected
        managers.push_back(*std::move(own));
        dicts.push_back(*std::move(dict));
      }
      if (!StartTogether()) return 4;
      std::atomic<int> failures{0};
      std::vector<std::thread> running;
      for (int t = 0; t < threads; ++t) {
        running.emplace_back([&, t] {
          for (int i = 0; i < per; ++i) {
            if (!dicts[t].Get("k").ok()) ++failures;
          }
        });
      }
      for (std::thread& t : running) t.join();
      DoneMeasuring();
      return failures > 0 ? 5 : 0;
    });
    if (seconds < 0) Die("connections", absl::InternalError("a client failed"));
    const double busy = (ManagerCpuSeconds() - cpu_before) / seconds * 100;
    Point("dict gets by connections (8 processes)", connections,
          per * threads * kProcesses / seconds, nullptr,
          absl::StrCat(", \"server_cpu_pct\": ", static_cast<int>(busy)));
  }
}

// A get's latency (and the manager's memory) while N other connections,
// each a connected Manager with its own TCP connection and session, sit
// idle.
void GetsWithIdleConnections(Manager& m) {
  rlimit limit{};  // N connections need N descriptors here too
  getrlimit(RLIMIT_NOFILE, &limit);
  limit.rlim_cur = limit.rlim_max;
  setrlimit(RLIMIT_NOFILE, &limit);
  auto d = m.Dict("scale-idle");
  if (!d.ok() || !d->Set("k", 1).ok()) Die("dict", d.status());
  std::vector<std::unique_ptr<Manager>> idle;
  for (int64_t n : Sizes(absl::GetFlag(FLAGS_idle))) {
    while (static_cast<int64_t>(idle.size()) < n) {
      idle.push_back(ConnectOrDie());
    }
    std::vector<double> lat;
    const int gets = 5000;
    const auto start = Clock::now();
    for (int i = 0; i < gets; ++i) {
      const auto t0 = Clock::now();
      if (!d->Get("k").ok()) Die("get", absl::InternalError("idle"));
      lat.push_back(Seconds(Clock::now() - t0) * 1e6);
    }
    Point("dict get with idle connections", n,
          gets / Seconds(Clock::now() - start), &lat);
  }
}

}  // namespace
}  // namespace bench
}  // namespace mproc

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  {
    auto m = mproc::bench::ConnectOrDie();
    if (absl::GetFlag(FLAGS_idle_only)) {
      mproc::bench::GetsWithIdleConnections(*m);
      return 0;
    }
    mproc::bench::DictBySize(*m);
    mproc::bench::QueueByDepth(*m);
  }  // no connection of ours across the forks below
  auto m = mproc::bench::ConnectOrDie();
  mproc::bench::GetsByClients(*m);
  mproc::bench::GetsByConnections(*m);
  return 0;
}
