// Many client processes started together, for the multi-client benchmarks.
#ifndef MPROC_BENCH_CLIENT_PROCESSES_H_
#define MPROC_BENCH_CLIENT_PROCESSES_H_

#include <sys/wait.h>
#include <unistd.h>

#include <functional>
#include <vector>

#include "bench/report.h"

namespace mproc {
namespace bench {

// In a client process of RunClientProcesses: the pipe whose closing says
// "go".
inline int g_start_fd = -1;

// Blocks until RunClientProcesses releases the clients; false on error.
inline bool StartTogether() {
  char go;
  return read(g_start_fd, &go, 1) >= 0;  // end of file: go
}

// Forks `n` client processes running `body(c)` (exit code 0 = success),
// releases them together once connected, waits for all; returns the
// seconds from release to the last exit, or -1 if any failed.
inline double RunClientProcesses(int n, const std::function<int(int)>& body) {
  int pipes[2];
  if (pipe(pipes) != 0) return -1;
  std::vector<pid_t> pids;
  for (int c = 0; c < n; ++c) {
    pid_t pid = fork();
    if (pid == 0) {
      close(pipes[1]);
      g_start_fd = pipes[0];
      _exit(body(c));  // connects, then StartTogether()
    }
    pids.push_back(pid);
  }
  close(pipes[0]);
  usleep(300000 + 2000 * n);  // let the children connect
  const auto start = Clock::now();
  close(pipes[1]);  // releases them all at once
  int failed = 0;
  for (pid_t pid : pids) {
    int status = 0;
    waitpid(pid, &status, 0);
    failed += !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  return failed > 0 ? -1 : Seconds(Clock::now() - start);
}

}  // namespace bench
}  // namespace mproc

#endif  // MPROC_BENCH_CLIENT_PROCESSES_H_
