// mproc's side of the manager benchmark (bench/compare_manager.py runs it
// next to Python's managers). Prints one JSON object per measurement:
//   {"system": "mproc", "transport": ..., "workload": ..., "ops_per_s": ...,
//    "p50_us": ..., "p99_us": ...}
//
// usage: manager_bench --address ADDR --transport NAME [--ops N]
//                      [--clients C] [--entries M] [--manager-pid PID]
//                      [--only single|many|batch|queue|durability|fill|churn]
//                      [--fill N]
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "bench/client_processes.h"
#include "bench/report.h"
#include "client/manager.h"

namespace mproc {
namespace {

struct Flags {
  std::string address;
  std::string transport = "tcp";
  int ops = 20000;
  int clients = 8;
  int64_t entries = 0;
  int manager_pid = 0;
  // Run just "single", "many", "batch", "queue", "durability" (the
  // persistence comparison's workloads), "fill" (--fill entries and items)
  // or "churn" (1M sets over 10k keys).
  std::string only;
  int64_t fill = 0;
};

void Die(const std::string& what, const absl::Status& s) {
  std::cerr << "manager_bench: " << what << ": " << s << std::endl;
  std::exit(1);
}

std::unique_ptr<Manager> ConnectOrDie(const Flags& f) {
  ConnectOptions options;
  options.authkey = LoadAuthkey("").value_or("");
  auto m = Manager::Connect(f.address, options);
  if (!m.ok()) Die("connect", m.status());
  return *std::move(m);
}

void Report(const Flags& f, const std::string& workload, double ops_per_s,
            std::vector<double>* latencies_us) {
  bench::PrintRow(f.transport, workload, ops_per_s, latencies_us);
}

using bench::Clock;
using bench::Seconds;

// Times `n` calls of `op(i)`, reporting each call's latency and calls/s.
void TimeEach(const Flags& f, const std::string& workload, int n,
              const std::function<absl::Status(int)>& op) {
  std::vector<double> lat;
  lat.reserve(n);
  const auto start = Clock::now();
  for (int i = 0; i < n; ++i) {
    const auto t0 = Clock::now();
    if (absl::Status s = op(i); !s.ok()) Die(workload, s);
    lat.push_back(Seconds(Clock::now() - t0) * 1e6);
  }
  Report(f, workload, n / Seconds(Clock::now() - start), &lat);
}

// One client, alternating set and get on a small key space.
void SingleClient(const Flags& f) {
  auto m = ConnectOrDie(f);
  auto d = m->Dict("bench-single");
  if (!d.ok()) Die("dict", d.status());
  for (int i = 0; i < 500; ++i) d->Set(i % 100, i).IgnoreError();  // warm up
  TimeEach(f, "dict set/get, 1 client", f.ops, [&](int i) {
    return (i % 2 == 0) ? d->Set(i % 1000, i) : d->Get(i % 1000, 0).status();
  });
}

// One client: atomic increments of a shared int (Redis INCR's match), and
// appends to a shared list (RPUSH's).
void CounterAndList(const Flags& f) {
  auto m = ConnectOrDie(f);
  auto counter = m->Value("bench-counter", "int");
  if (!counter.ok()) Die("value", counter.status());
  for (int i = 0; i < 200; ++i) counter->Add(1).IgnoreError();  // warm up
  TimeEach(f, "counter increment, 1 client", f.ops,
           [&](int) { return counter->Add(1).status(); });
  auto list = m->List("bench-list");
  if (!list.ok()) Die("list", list.status());
  TimeEach(f, "list append, 1 client", f.ops,
           [&](int i) { return list->Append(i).status(); });
}

using bench::StartTogether;

// RunClientProcesses, dying if a client failed.
double RunClients(int n, const std::function<int(int)>& body) {
  const double seconds = bench::RunClientProcesses(n, body);
  if (seconds < 0) Die("clients", absl::InternalError("a client failed"));
  return seconds;
}

// `clients` processes doing set/get at once; aggregate throughput.
void ManyClients(const Flags& f) {
  const int per_client = f.ops / f.clients;
  const double seconds = RunClients(f.clients, [&](int c) {
    auto m = ConnectOrDie(f);
    auto d = m->Dict("bench-many");
    if (!d.ok()) return 2;
    if (!StartTogether()) return 3;
    for (int i = 0; i < per_client; ++i) {
      absl::Status s = (i % 2 == 0) ? d->Set(c * 1000 + i % 1000, i)
                                    : d->Get(c * 1000 + i % 1000, 0).status();
      if (!s.ok()) {
        std::cerr << "client " << c << ": " << s << std::endl;
        return 4;
      }
    }
    bench::DoneMeasuring();
    return 0;
  });
  Report(f, absl::StrCat("dict set/get, ", f.clients, " clients"),
         per_client * f.clients / seconds, nullptr);
}

// Pipelined: batches of 1,000 gets, and set_many of 1,000 entries.
void Batched(const Flags& f) {
  auto m = ConnectOrDie(f);
  auto d = m->Dict("bench-batch");
  if (!d.ok()) Die("dict", d.status());
  constexpr int kBatch = 1000;
  Map entries;
  for (int i = 0; i < kBatch; ++i) entries.emplace(i, i);
  const int rounds = std::max(1, f.ops * 5 / kBatch);
  auto start = Clock::now();
  for (int r = 0; r < rounds; ++r) {
    absl::Status s = d->SetMany(entries);
    if (!s.ok()) Die("set_many", s);
  }
  Report(f, "dict set_many x1000",
         rounds * kBatch / Seconds(Clock::now() - start), nullptr);
  start = Clock::now();
  for (int r = 0; r < rounds; ++r) {
    BatchBuilder batch = m->NewBatch();
    for (int i = 0; i < kBatch; ++i) batch.Add(*d, "get", {i});
    auto results = batch.Run();
    if (!results.ok()) Die("batch", results.status());
  }
  Report(f, "dict get, batch of 1000",
         rounds * kBatch / Seconds(Clock::now() - start), nullptr);

  // The same from two threads sharing the one connection: while the
  // manager executes one batch, the client builds and parses the other.
  start = Clock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&] {
      for (int r = 0; r < rounds / 2; ++r) {
        BatchBuilder batch = m->NewBatch();
        for (int i = 0; i < kBatch; ++i) batch.Add(*d, "get", {i});
        auto results = batch.Run();
        if (!results.ok()) Die("batch", results.status());
      }
    });
  }
  for (std::thread& t : threads) t.join();
  Report(f, "dict get, 2 batches in flight",
         (rounds / 2) * 2 * kBatch / Seconds(Clock::now() - start), nullptr);
}

// Queue: one client putting then getting (a pair per iteration).
void QueuePairs(const Flags& f) {
  auto m = ConnectOrDie(f);
  auto q = m->Queue("bench-queue-pairs");
  if (!q.ok()) Die("queue", q.status());
  auto pair = [&](int i) {
    absl::Status s = q->Put(i);
    return s.ok() ? q->Get().status() : s;
  };
  for (int i = 0; i < 200; ++i) pair(i).IgnoreError();  // warm up
  TimeEach(f, "queue put+get, 1 client", f.ops / 2, pair);
}

// Queue: 4 producer and 4 consumer processes; items per second through it.
void QueueFourByFour(const Flags& f) {
  constexpr int kSide = 4;
  const int per = f.ops / kSide;
  const double seconds = RunClients(2 * kSide, [&](int c) {
    auto m = ConnectOrDie(f);
    auto q = m->Queue("bench-queue-4x4");
    if (!q.ok()) return 2;
    if (!StartTogether()) return 3;
    const bool producer = c < kSide;
    for (int i = 0; i < per; ++i) {
      absl::Status s = producer ? q->Put(i) : q->Get().status();
      if (!s.ok()) {
        std::cerr << "queue client " << c << ": " << s << std::endl;
        return 4;
      }
    }
    bench::DoneMeasuring();
    return 0;
  });
  Report(f, "queue 4x4 producers/consumers", per * kSide / seconds, nullptr);
}

// Queue: put_many then get_many of 1,000 items per round.
void QueueBatched(const Flags& f) {
  auto m = ConnectOrDie(f);
  auto q = m->Queue("bench-queue-batch");
  if (!q.ok()) Die("queue", q.status());
  constexpr int kBatch = 1000;
  List items;
  for (int i = 0; i < kBatch; ++i) items.push_back(i);
  const int rounds = std::max(1, f.ops * 5 / kBatch);
  const auto start = Clock::now();
  for (int r = 0; r < rounds; ++r) {
    absl::Status s = q->PutMany(items);
    if (!s.ok()) Die("put_many", s);
    auto got = q->GetMany(kBatch);
    if (!got.ok()) Die("get_many", got.status());
  }
  Report(f, "queue put_many+get_many x1000",
         rounds * kBatch / Seconds(Clock::now() - start), nullptr);
}

// Lock: one client acquiring and releasing (a pair per iteration).
void LockPairs(const Flags& f) {
  auto m = ConnectOrDie(f);
  auto lock = m->Lock("bench-lock");
  if (!lock.ok()) Die("lock", lock.status());
  TimeEach(f, "lock acquire+release", f.ops / 2, [&](int) {
    absl::StatusOr<bool> taken = lock->Acquire();
    if (!taken.ok()) return taken.status();
    if (!*taken) return absl::InternalError("acquire returned false");
    return lock->Release();
  });
}

// What bench/compare_durability.py runs for each persistence mode: sets,
// and queue put+get pairs, from one client (with latencies) and from
// f.clients processes at once.
void DurabilityWorkloads(const Flags& f) {
  {
    // Its own connection, closed before the next workload: an idle second
    // stream would change how the manager schedules the first.
    auto m = ConnectOrDie(f);
    auto d = m->Dict("bench-durable-set");
    if (!d.ok()) Die("dict", d.status());
    for (int i = 0; i < 500; ++i) d->Set(i, i).IgnoreError();  // warm up
    TimeEach(f, "dict set, 1 client", f.ops,
             [&](int i) { return d->Set(i % 10000, i); });
  }
  QueuePairs(f);
  const int per_client = f.ops / f.clients;
  double seconds = RunClients(f.clients, [&](int c) {
    auto mc = ConnectOrDie(f);
    auto dc = mc->Dict("bench-durable-set");
    if (!dc.ok()) return 2;
    if (!StartTogether()) return 3;
    for (int i = 0; i < per_client; ++i) {
      if (!dc->Set(c * 10000 + i % 10000, i).ok()) return 4;
    }
    bench::DoneMeasuring();
    return 0;
  });
  Report(f, absl::StrCat("dict set, ", f.clients, " clients"),
         per_client * f.clients / seconds, nullptr);
  const int pairs = f.ops / 2 / f.clients;
  seconds = RunClients(f.clients, [&](int c) {
    auto mc = ConnectOrDie(f);
    auto q = mc->Queue("bench-durable-queue");
    if (!q.ok()) return 2;
    if (!StartTogether()) return 3;
    for (int i = 0; i < pairs; ++i) {
      if (!q->Put(c * pairs + i).ok() || !q->Get().ok()) return 4;
    }
    bench::DoneMeasuring();
    return 0;
  });
  Report(f, absl::StrCat("queue put+get, ", f.clients, " clients"),
         pairs * f.clients / seconds, nullptr);
}

// f.fill dict entries and as many queue items, in batches of 1,000: what a
// restart then loads back.
void Fill(const Flags& f) {
  auto m = ConnectOrDie(f);
  auto d = m->Dict("bench-fill");
  auto q = m->Queue("bench-fill-queue");
  if (!d.ok() || !q.ok()) Die("fill", absl::InternalError("open"));
  const auto start = Clock::now();
  for (int64_t base = 0; base < f.fill; base += 1000) {
    Map entries;
    List items;
    for (int64_t i = base; i < std::min(f.fill, base + 1000); ++i) {
      entries[Value(absl::StrCat("key:", i))] = Value(i);
      items.push_back(i);
    }
    if (absl::Status s = d->Update(entries); !s.ok()) Die("update", s);
    if (absl::Status s = q->PutMany(items); !s.ok()) Die("put_many", s);
  }
  Report(f, "fill (entries + items)",
         2.0 * static_cast<double>(f.fill) / Seconds(Clock::now() - start),
         nullptr);
}

// 1M sets of 100-byte values over 10k keys, 8 in flight: what the data
// dir's footprint must survive.
void Churn(const Flags& f) {
  auto m = ConnectOrDie(f);
  auto d = m->Dict("bench-churn");
  if (!d.ok()) Die("dict", d.status());
  const std::string value(100, 'v');
  constexpr int kSets = 1000000;
  const auto start = Clock::now();
  for (int base = 0; base < kSets; base += 1000) {
    Map entries;
    for (int i = base; i < base + 1000; ++i) {
      entries[Value((i * 7919) % 10000)] = Value(value);
    }
    if (absl::Status s = d->Update(entries); !s.ok()) Die("churn", s);
  }
  Report(f, "churn: 1M sets over 10k keys",
         kSets / Seconds(Clock::now() - start), nullptr);
}

int ThreadsOf(int pid) {
  std::ifstream status(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(status, line)) {
    int n = 0;
    if (line.rfind("Threads:", 0) == 0 &&
        absl::SimpleAtoi(absl::StripAsciiWhitespace(line.substr(8)), &n)) {
      return n;
    }
  }
  return 0;
}

int64_t ResidentKiB(int pid);

// 1,000 gets parked on one queue (10 connections x 100 threads): what they
// cost the manager in memory and threads.
void ParkedWaiters(const Flags& f) {
  constexpr int kClients = 10, kEach = 100, kTotal = kClients * kEach;
  std::vector<std::unique_ptr<Manager>> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.push_back(ConnectOrDie(f));
    if (!clients.back()->Queue("bench-parked").ok())
      Die("queue", absl::InternalError(""));
  }
  const int64_t rss_before = ResidentKiB(f.manager_pid);
  const int threads_before = ThreadsOf(f.manager_pid);
  std::vector<std::thread> getters;
  for (int c = 0; c < kClients; ++c) {
    for (int g = 0; g < kEach; ++g) {
      getters.emplace_back([&, c] {
        auto q = clients[c]->Queue("bench-parked");
        if (q.ok()) q->Get().IgnoreError();
      });
    }
  }
  // Wait until all are parked in the manager.
  for (;;) {
    auto objects = clients[0]->Objects();
    if (!objects.ok()) Die("objects", objects.status());
    bool all = false;
    for (const ObjectInfo& o : *objects) {
      auto it = o.details.find(Value("getters"));
      if (o.name == "bench-parked" && it != o.details.end() &&
          it->second == Value(kTotal)) {
        all = true;
      }
    }
    if (all) break;
    usleep(2000);
  }
  const int64_t rss_parked = ResidentKiB(f.manager_pid);
  const int threads_parked = ThreadsOf(f.manager_pid);
  List items;
  for (int i = 0; i < kTotal; ++i) items.push_back(i);
  auto q = clients[0]->Queue("bench-parked");
  if (!q.ok() || !q->PutMany(items).ok())
    Die("release", absl::InternalError(""));
  for (std::thread& t : getters) t.join();
  std::cout << "{\"system\": \"mproc\", \"transport\": \"" << f.transport
            << "\", \"workload\": \"1000 parked gets\", \"growth_mb\": "
            << (rss_parked - rss_before) / 1024.0
            << ", \"threads_added\": " << threads_parked - threads_before << "}"
            << std::endl;
}

int64_t ResidentKiB(int pid) {
  std::ifstream status(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) {
      int64_t kib = 0;
      if (!absl::SimpleAtoi(
              absl::StripAsciiWhitespace(line.substr(6, line.size() - 9)),
              &kib)) {
        return 0;
      }
      return kib;
    }
  }
  return 0;
}

// Fills a dict with `entries` small entries ("key<i>" -> i) and reports the
// manager's resident memory growth.
void Memory(const Flags& f) {
  auto m = ConnectOrDie(f);
  auto d = m->Dict("bench-memory");
  if (!d.ok()) Die("dict", d.status());
  const int64_t before = ResidentKiB(f.manager_pid);
  constexpr int kChunk = 10000;
  for (int64_t base = 0; base < f.entries; base += kChunk) {
    Map chunk;
    for (int64_t i = base; i < std::min<int64_t>(base + kChunk, f.entries);
         ++i) {
      chunk.emplace(absl::StrCat("key", i), i);
    }
    absl::Status s = d->SetMany(chunk);
    if (!s.ok()) Die("fill", s);
  }
  const int64_t after = ResidentKiB(f.manager_pid);
  std::cout << "{\"system\": \"mproc\", \"transport\": \"" << f.transport
            << "\", \"workload\": \"rss for " << f.entries
            << " entries\", \"rss_mb\": " << after / 1024.0
            << ", \"growth_mb\": " << (after - before) / 1024.0 << "}"
            << std::endl;
}

}  // namespace
}  // namespace mproc

int main(int argc, char** argv) {
  mproc::Flags f;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--address")
      f.address = v;
    else if (k == "--transport")
      f.transport = v;
    else if (k == "--ops")
      f.ops = std::atoi(v.c_str());
    else if (k == "--clients")
      f.clients = std::atoi(v.c_str());
    else if (k == "--entries")
      f.entries = std::atoll(v.c_str());
    else if (k == "--manager-pid")
      f.manager_pid = std::atoi(v.c_str());
    else if (k == "--only")
      f.only = v;
    else if (k == "--fill")
      f.fill = std::atoll(v.c_str());
  }
  if (f.address.empty()) {
    std::cerr << "usage: manager_bench --address ADDR [--transport T] [--ops N]"
                 " [--clients C] [--entries M --manager-pid PID]\n";
    return 2;
  }
  if (f.only == "durability") {
    mproc::DurabilityWorkloads(f);
    return 0;
  }
  if (f.only == "fill") {
    mproc::Fill(f);
    return 0;
  }
  if (f.only == "churn") {
    mproc::Churn(f);
    return 0;
  }
  if (f.entries > 0) {
    mproc::Memory(f);
    mproc::ParkedWaiters(f);
    return 0;
  }
  if (f.only.empty() || f.only == "single") {
    mproc::SingleClient(f);
    mproc::CounterAndList(f);
  }
  if (f.only.empty() || f.only == "many") mproc::ManyClients(f);
  if (f.only.empty() || f.only == "batch") mproc::Batched(f);
  if (f.only.empty() || f.only == "queue") {
    mproc::QueuePairs(f);
    mproc::QueueFourByFour(f);
    mproc::QueueBatched(f);
    mproc::LockPairs(f);
  }
  return 0;
}
