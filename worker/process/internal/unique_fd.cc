#include "worker/process/internal/unique_fd.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace mproc {
namespace process_internal {

void UniqueFd::Reset(int fd) {
  // close(2) must not be retried on EINTR on Linux: the fd is gone anyway.
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

int PollTimeoutMs(absl::Time deadline) {
  if (deadline == absl::InfiniteFuture()) return -1;
  absl::Duration left = deadline - absl::Now();
  if (left <= absl::ZeroDuration()) return 0;
  int64_t ms =
      absl::ToInt64Milliseconds(absl::Ceil(left, absl::Milliseconds(1)));
  return ms > INT32_MAX ? INT32_MAX : static_cast<int>(ms);
}

absl::StatusOr<bool> WaitForFd(int fd, short events, absl::Time deadline) {
  for (;;) {
    pollfd p{fd, events, 0};
    int n = ::poll(&p, 1, PollTimeoutMs(deadline));
    if (n > 0) return true;
    if (n == 0) {
      // poll rounds to milliseconds; a deadline not yet reached polls again.
      if (absl::Now() >= deadline) return false;
      continue;
    }
    if (errno != EINTR) return ErrnoStatus(errno, "poll");
  }
}

absl::Status ErrnoStatus(int err, absl::string_view what) {
  std::string message = absl::StrCat(what, ": ", strerror(err));
  switch (err) {
    case ENOENT:
      return absl::NotFoundError(message);
    case EACCES:
    case EPERM:
      return absl::PermissionDeniedError(message);
    case EMFILE:
    case ENFILE:
    case ENOMEM:
    case EAGAIN:
      return absl::ResourceExhaustedError(message);
    case EINVAL:
      return absl::InvalidArgumentError(message);
    default:
      return absl::InternalError(message);
  }
}

}  // namespace process_internal
}  // namespace mproc
