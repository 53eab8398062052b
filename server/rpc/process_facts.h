// Facts about this process, read from /proc when asked (for metrics and
// the dashboard).
#ifndef MPROC_SERVER_RPC_PROCESS_FACTS_H_
#define MPROC_SERVER_RPC_PROCESS_FACTS_H_

namespace mproc {

// CPU time (utime + stime) in seconds, resident bytes, open descriptors;
// zeros where /proc cannot be read.
void ProcessFacts(double* cpu_seconds, double* rss_bytes, double* fds);

}  // namespace mproc

#endif  // MPROC_SERVER_RPC_PROCESS_FACTS_H_
