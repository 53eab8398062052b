// mproc's side of the local-process benchmark (bench/compare_process.py
// runs it next to Python's multiprocessing and subprocess). One JSON row
// per workload (bench/report.h).
//
// usage: process_bench [--scale F]   (F multiplies every iteration count)
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "bench/report.h"
#include "worker/process/pipe.h"
#include "worker/process/process.h"
#include "worker/process/subprocess.h"

namespace mproc {
namespace {

using bench::Clock;
using bench::Seconds;

void Check(const absl::Status& s, const char* what) {
  if (!s.ok()) {
    std::cerr << "process_bench: " << what << ": " << s << std::endl;
    std::exit(1);
  }
}

// Times `n` calls of `op`, reporting per-call latency and calls/s.
template <typename Op>
void TimeEach(const std::string& workload, int n, Op op) {
  std::vector<double> lat;
  lat.reserve(n);
  const auto start = Clock::now();
  for (int i = 0; i < n; ++i) {
    const auto t0 = Clock::now();
    op(i);
    lat.push_back(Seconds(Clock::now() - t0) * 1e6);
  }
  bench::PrintRow("local", workload, n / Seconds(Clock::now() - start), &lat);
}

void StartJoin(int n) {
  TimeEach("process start+join (empty)", n, [](int) {
    Process p([] {});
    Check(p.Start(), "start");
    Check(p.Join(), "join");
  });
}

// A child that sends back everything it receives until end of file.
Process* StartEcho(Connection* theirs, Connection* ours) {
  auto* echo = new Process([theirs, ours] {
    ours->Close();
    for (;;) {
      absl::StatusOr<std::string> m = theirs->RecvBytes();
      if (!m.ok()) return 0;
      if (!theirs->SendBytes(*m).ok()) return 1;
    }
  });
  Check(echo->Start(), "start echo");
  theirs->Close();
  return echo;
}

void PipeRoundTrip(int n) {
  auto pair = Pipe();
  Check(pair.status(), "pipe");
  // Named references, not a structured binding: the lambdas below use
  // them.
  Connection& ours = pair->first;
  Connection& theirs = pair->second;
  Process* echo = StartEcho(&theirs, &ours);
  // Values through the echo child: the child echoes the encoded bytes, so
  // both Value encode and decode are timed on our side.
  for (int i = 0; i < 1000; ++i) {  // warm up
    Check(ours.Send(i), "send");
    Check(ours.RecvBytes().status(), "recv");
  }
  TimeEach("pipe round trip (int)", n, [&](int i) {
    Check(ours.Send(i), "send");
    absl::StatusOr<std::string> back = ours.RecvBytes();
    Check(back.status(), "recv");
  });
  ours.Close();
  Check(echo->Join(), "join echo");
  delete echo;
}

void PipeStream(int n, int message_bytes, const std::string& workload) {
  auto pair = Pipe(false);
  Check(pair.status(), "pipe");
  auto& [reader, writer] = *pair;
  Process producer([&writer = writer, n, message_bytes] {
    Value message(Bytes{std::string(message_bytes, 'x')});
    for (int i = 0; i < n; ++i) {
      if (!writer.Send(message).ok()) return 1;
    }
    return 0;
  });
  const auto start = Clock::now();
  Check(producer.Start(), "start producer");
  writer.Close();
  for (int i = 0; i < n; ++i) Check(reader.Recv().status(), "recv");
  double seconds = Seconds(Clock::now() - start);
  Check(producer.Join(), "join producer");
  bench::PrintRow("local", workload, n / seconds, nullptr);
}

void RunTrue(int n) {
  TimeEach("subprocess run(true)", n, [](int) {
    absl::StatusOr<CompletedProcess> r = Run({"true"});
    Check(r.status(), "run");
  });
}

}  // namespace
}  // namespace mproc

int main(int argc, char** argv) {
  double scale = 1;
  if (argc == 3 && std::string(argv[1]) == "--scale") {
    if (!absl::SimpleAtod(argv[2], &scale) || scale <= 0) {
      std::cerr << "process_bench: --scale needs a positive number\n";
      return 2;
    }
  } else if (argc != 1) {
    std::cerr << "usage: process_bench [--scale F]\n";
    return 2;
  }
  auto n = [scale](int base) {
    return std::max(1, static_cast<int>(base * scale));
  };
  mproc::StartJoin(n(500));
  mproc::PipeRoundTrip(n(50000));
  mproc::PipeStream(n(200000), 100, "pipe stream 100 B messages");
  mproc::PipeStream(n(200), 1 << 20, "pipe stream 1 MiB messages");
  mproc::RunTrue(n(500));
  return 0;
}
