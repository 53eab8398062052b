// What tests ask the kernel about processes and descriptors: awaiting a
// process's end without sleeping, counting open descriptors and zombies.
#ifndef MPROC_TESTS_SUPPORT_OS_PROBES_H_
#define MPROC_TESTS_SUPPORT_OS_PROBES_H_

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>

#include "absl/time/time.h"

namespace mproc {
namespace testing {

// Whether this build (and so the manager under test) runs on a sanitizer's
// allocator, which holds freed memory back on purpose (ASan's quarantine):
// checks that memory goes back to the system do not apply there.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr bool kSanitizerAllocator = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
inline constexpr bool kSanitizerAllocator = true;
#else
inline constexpr bool kSanitizerAllocator = false;
#endif
#else
inline constexpr bool kSanitizerAllocator = false;
#endif

// Waits until our child `pid` has exited, without reaping it (waitid
// WNOWAIT), so the code under test still can. False on timeout.
bool AwaitChildExitNoReap(pid_t pid,
                          absl::Duration timeout = absl::Seconds(30));

// Waits until any process `pid` (not necessarily our child) is gone, via a
// pidfd. True if it is gone (or never existed), false on timeout.
bool AwaitProcessGone(pid_t pid, absl::Duration timeout = absl::Seconds(30));

// Whether `pid` exists and is not a zombie.
bool ProcessRunning(pid_t pid);

// Sends SIGSTOP to `pid` and waits until the kernel reports it stopped
// (kill(2) returns before a process running on another CPU has stopped).
// False if it is not stopped within `timeout`.
bool StopProcess(pid_t pid, absl::Duration timeout = absl::Seconds(10));

// Resident memory of process `pid` in bytes (/proc/PID/statm); -1 if it
// cannot be read.
int64_t ResidentBytes(pid_t pid);

// CPU time process `pid` has used, user and system, in seconds
// (/proc/PID/stat, in clock ticks); -1 if it cannot be read.
double CpuSeconds(pid_t pid);

// The same per thread of process `pid`, summed by thread name
// (/proc/PID/task/*/comm); empty if the process is gone.
std::map<std::string, double> ThreadCpuSeconds(pid_t pid);
// Those of the threads named `name` (0 if none).
double ThreadCpuSeconds(pid_t pid, const std::string& name);

// A TCP connection to 127.0.0.1:`port` (blocking, close-on-exec); -1 if it
// cannot be made.
int ConnectLoopback(int port);

// Entries in /proc/self/fd.
int CountOpenFds();

// Our children that have exited but were not reaped.
int CountZombieChildren();

}  // namespace testing
}  // namespace mproc

#endif  // MPROC_TESTS_SUPPORT_OS_PROBES_H_
