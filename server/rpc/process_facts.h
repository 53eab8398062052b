// Facts about processes, read from /proc when asked: this one's (for
// metrics and the dashboard), and whether a peer is stopped (for the local
// wire's liveness check).
#ifndef MPROC_SERVER_RPC_PROCESS_FACTS_H_
#define MPROC_SERVER_RPC_PROCESS_FACTS_H_

#include <sys/types.h>

namespace mproc {

// CPU time (utime + stime) in seconds, resident bytes, open descriptors;
// zeros where /proc cannot be read.
void ProcessFacts(double* cpu_seconds, double* rss_bytes, double* fds);

// Whether process `pid` is stopped (SIGSTOP, a job-control stop, or held
// by a tracer). False if it cannot be read (gone, another namespace).
bool ProcessStopped(pid_t pid);

}  // namespace mproc

#endif  // MPROC_SERVER_RPC_PROCESS_FACTS_H_
