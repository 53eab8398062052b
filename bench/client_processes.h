// Many client processes started together, for the multi-client benchmarks.
#ifndef MPROC_BENCH_CLIENT_PROCESSES_H_
#define MPROC_BENCH_CLIENT_PROCESSES_H_

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <vector>

#include "bench/report.h"

namespace mproc {
namespace bench {

// The pipes of a client process of RunClientProcesses.
inline int g_ready_fd = -1;  // one byte written: connected
inline int g_start_fd = -1;  // closed by the parent: go
inline int g_done_fd = -1;   // the end of the measured work, in ns

// Says "connected" and blocks until RunClientProcesses releases the
// clients; false on error.
inline bool StartTogether() {
  const char ready = 1;
  if (write(g_ready_fd, &ready, 1) != 1) return false;
  char go;
  return read(g_start_fd, &go, 1) >= 0;  // end of file: go
}

// Marks the end of this client's measured work, so that its teardown
// (closing its session, gRPC's shutdown, exit) is not timed.
inline void DoneMeasuring() {
  const int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                          Clock::now().time_since_epoch())
                          .count();
  (void)!write(g_done_fd, &now, sizeof(now));
}

// Forks `n` client processes running `body(c)` (exit code 0 = success;
// it connects, calls StartTogether(), does its work, then DoneMeasuring()),
// waits until every one has connected, releases them together and waits
// for all; returns the seconds from the release to the last
// DoneMeasuring(), or -1 if any failed.
inline double RunClientProcesses(int n, const std::function<int(int)>& body) {
  int ready[2], start[2], done[2];
  if (pipe(ready) != 0 || pipe(start) != 0 || pipe(done) != 0) return -1;
  std::vector<pid_t> pids;
  for (int c = 0; c < n; ++c) {
    pid_t pid = fork();
    if (pid == 0) {
      close(ready[0]);
      close(start[1]);
      close(done[0]);
      g_ready_fd = ready[1];
      g_start_fd = start[0];
      g_done_fd = done[1];
      _exit(body(c));
    }
    pids.push_back(pid);
  }
  close(ready[1]);
  close(start[0]);
  close(done[1]);
  // Every client connected (or gone: then the read ends early).
  int connected = 0;
  char byte;
  while (connected < n && read(ready[0], &byte, 1) == 1) ++connected;
  const auto released = Clock::now();
  close(start[1]);
  int64_t last_done = 0;
  int64_t when = 0;
  int reported = 0;
  while (read(done[0], &when, sizeof(when)) == sizeof(when)) {
    last_done = std::max(last_done, when);
    ++reported;
  }
  int failed = 0;
  for (pid_t pid : pids) {
    int status = 0;
    waitpid(pid, &status, 0);
    failed += !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  close(ready[0]);
  close(done[0]);
  if (failed > 0 || connected < n || reported < n) return -1;
  const int64_t start_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                               released.time_since_epoch())
                               .count();
  return (last_done - start_ns) / 1e9;
}

}  // namespace bench
}  // namespace mproc

#endif  // MPROC_BENCH_CLIENT_PROCESSES_H_
