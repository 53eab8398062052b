// Facts about processes, read from /proc when asked: this one's (for
// metrics and the dashboard), and whether a peer is stopped (for the local
// wire's liveness check).
#ifndef MPROC_SERVER_RPC_PROCESS_FACTS_H_
#define MPROC_SERVER_RPC_PROCESS_FACTS_H_

#include <sys/types.h>

#include <cstdint>

namespace mproc {

// CPU time (utime + stime) in seconds, resident bytes, open descriptors;
// zeros where /proc cannot be read.
void ProcessFacts(double* cpu_seconds, double* rss_bytes, double* fds);

// What the local wire's liveness check knows of a peer process.
struct PeerState {
  bool exists = false;     // false: gone (or never visible here)
  bool stopped = false;    // SIGSTOP, a job-control stop, or a tracer's
  uint64_t cpu_ticks = 0;  // utime + stime: unchanged while stopped
};
PeerState ReadPeerState(pid_t pid);

}  // namespace mproc

#endif  // MPROC_SERVER_RPC_PROCESS_FACTS_H_
