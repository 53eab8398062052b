// UniqueFd: owns one file descriptor and closes it once.
//
// Also the small poll helpers every pipe user here needs: waiting for one
// descriptor with an absl deadline, and turning a deadline into poll's
// millisecond timeout without overflow.
#ifndef MPROC_WORKER_PROCESS_INTERNAL_UNIQUE_FD_H_
#define MPROC_WORKER_PROCESS_INTERNAL_UNIQUE_FD_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace mproc {
namespace process_internal {

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& o) noexcept : fd_(o.Release()) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    if (this != &o) Reset(o.Release());
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { Reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  // Gives up ownership without closing.
  int Release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  // Closes the owned descriptor (if any) and takes `fd`.
  void Reset(int fd = -1);

 private:
  int fd_ = -1;
};

// Milliseconds until `deadline` for poll(2): -1 for an infinite deadline,
// 0 if it has passed, rounded up so a poll never returns early.
int PollTimeoutMs(absl::Time deadline);

// Waits until `fd` has any of `events` (POLLIN, POLLOUT; errors and hang-up
// count as ready) or `deadline` passes. Returns true if ready, false on
// timeout. Retries on EINTR. INTERNAL if poll fails.
absl::StatusOr<bool> WaitForFd(int fd, short events, absl::Time deadline);

// An errno as a status naming what failed: "<what>: <strerror>".
absl::Status ErrnoStatus(int err, absl::string_view what);

}  // namespace process_internal
}  // namespace mproc

#endif  // MPROC_WORKER_PROCESS_INTERNAL_UNIQUE_FD_H_
