#include "worker/process/pipe.h"

#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/value_codec.h"
#include "worker/process/process.h"

namespace mproc {
namespace {

using process_internal::ErrnoStatus;

constexpr size_t kHeaderBytes = 8;
// SendBytes copies payloads up to this size next to the header: one send.
constexpr size_t kCopyLimit = 64 * 1024;
constexpr uint8_t kValueFrame = 1;
constexpr uint8_t kBytesFrame = 2;
constexpr char kEndOfFile[] =
    "connection: end of file (the other end is closed)";

// Header: byte 0 is the kind, bytes 1..7 the payload length, little-endian.
void PutHeader(uint8_t kind, uint64_t length, char* out) {
  out[0] = static_cast<char>(kind);
  for (int i = 1; i < 8; ++i)
    out[i] = static_cast<char>(length >> (8 * (i - 1)));
}

}  // namespace

bool IsEndOfFile(const absl::Status& status) {
  return absl::IsOutOfRange(status) && status.message() == kEndOfFile;
}

absl::StatusOr<std::pair<Connection, Connection>> Pipe(bool duplex) {
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
    return ErrnoStatus(errno, "Pipe: socketpair");
  }
  if (!duplex) {
    // A socketpair rather than pipe(2) even one-way: send(MSG_NOSIGNAL)
    // turns a closed reader into an error instead of SIGPIPE.
    shutdown(fds[0], SHUT_WR);
    shutdown(fds[1], SHUT_RD);
  }
  return std::make_pair(Connection(fds[0], true, duplex),
                        Connection(fds[1], duplex, true));
}

absl::Duration DefaultReceiveSpin() {
  // With one CPU the sender cannot run while we spin.
  static const absl::Duration spin =
      CpuCount() > 1 ? absl::Microseconds(50) : absl::ZeroDuration();
  return spin;
}

absl::Status Connection::CheckOpen(bool for_reading) const {
  if (!fd_.valid()) {
    return absl::FailedPreconditionError("connection: closed");
  }
  if (for_reading && !readable_) {
    return absl::FailedPreconditionError("connection: this end is write-only");
  }
  if (!for_reading && !writable_) {
    return absl::FailedPreconditionError("connection: this end is read-only");
  }
  return absl::OkStatus();
}

void Connection::Close() { fd_.Reset(); }

absl::Status Connection::Send(const Value& value) {
  if (absl::Status s = CheckOpen(false); !s.ok()) return s;
  std::string frame(kHeaderBytes, '\0');
  EncodeValue(value, &frame);
  return WriteFrame(kValueFrame, &frame, {});
}

absl::Status Connection::SendBytes(absl::string_view data) {
  if (absl::Status s = CheckOpen(false); !s.ok()) return s;
  std::string header(kHeaderBytes, '\0');
  if (data.size() <= kCopyLimit) {
    // Small: one buffer, one send.
    header.append(data.data(), data.size());
    return WriteFrame(kBytesFrame, &header, {});
  }
  return WriteFrame(kBytesFrame, &header, data);
}

absl::Status Connection::WriteFrame(uint8_t kind, std::string* frame,
                                    absl::string_view payload) {
  uint64_t length = frame->size() - kHeaderBytes + payload.size();
  if (length > kMaxMessageBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("connection: message of ", length, " bytes exceeds the ",
                     kMaxMessageBytes, "-byte limit"));
  }
  PutHeader(kind, length, frame->data());
  iovec iov[2] = {{frame->data(), frame->size()},
                  {const_cast<char*>(payload.data()), payload.size()}};
  int iovcnt = payload.empty() ? 1 : 2;
  iovec* next = iov;
  while (iovcnt > 0) {
    msghdr msg{};
    msg.msg_iov = next;
    msg.msg_iovlen = iovcnt;
    ssize_t n = sendmsg(fd_.get(), &msg, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EPIPE || errno == ECONNRESET) {
        return absl::FailedPreconditionError(
            "connection: the other end is closed (broken pipe)");
      }
      return ErrnoStatus(errno, "connection: send");
    }
    size_t sent = static_cast<size_t>(n);
    while (iovcnt > 0 && sent >= next->iov_len) {
      sent -= next->iov_len;
      ++next;
      --iovcnt;
    }
    if (iovcnt > 0) {
      next->iov_base = static_cast<char*>(next->iov_base) + sent;
      next->iov_len -= sent;
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<size_t> Connection::ReadExactly(char* buf, size_t n) {
  size_t have = 0;
  while (have < n) {
    ssize_t got = ::read(fd_.get(), buf + have, n - have);
    if (got > 0) {
      have += got;
    } else if (got == 0 || errno == ECONNRESET) {
      break;
    } else if (errno != EINTR) {
      return ErrnoStatus(errno, "connection: read");
    }
  }
  return have;
}

size_t Connection::SpinForHeader(char* header) {
  if (spin_ <= absl::ZeroDuration()) return 0;
  // Waking a sleeping reader costs an inter-processor interrupt and a
  // context switch (~5-10 µs, more on VMs); a reply that is microseconds
  // away is cheaper to catch by polling. Bounded, so an idle reader still
  // sleeps almost at once.
  const auto give_up =
      std::chrono::steady_clock::now() + absl::ToChronoNanoseconds(spin_);
  do {
    ssize_t got = ::recv(fd_.get(), header, kHeaderBytes, MSG_DONTWAIT);
    if (got > 0) return static_cast<size_t>(got);
    if (got == 0 || (errno != EAGAIN && errno != EINTR)) return 0;
  } while (std::chrono::steady_clock::now() < give_up);
  return 0;
}

absl::Status Connection::ReadFrame(uint8_t* kind, std::string* payload) {
  if (absl::Status s = CheckOpen(true); !s.ok()) return s;
  char h[kHeaderBytes];
  size_t early = SpinForHeader(h);
  absl::StatusOr<size_t> got = ReadExactly(h + early, kHeaderBytes - early);
  if (got.ok()) *got += early;
  if (!got.ok()) return got.status();
  if (*got == 0) return absl::OutOfRangeError(kEndOfFile);
  if (*got < kHeaderBytes) {
    return absl::DataLossError(
        "connection: stream ended inside a message header");
  }
  *kind = static_cast<uint8_t>(h[0]);
  uint64_t length = 0;
  for (int i = 7; i >= 1; --i)
    length = (length << 8) | static_cast<uint8_t>(h[i]);
  if ((*kind != kValueFrame && *kind != kBytesFrame) ||
      length > kMaxMessageBytes) {
    return absl::DataLossError(
        absl::StrCat("connection: corrupt message header (kind ", *kind,
                     ", length ", length, ")"));
  }
  payload->resize(length);
  got = ReadExactly(payload->data(), length);
  if (!got.ok()) return got.status();
  if (*got < length) {
    return absl::DataLossError(
        absl::StrCat("connection: stream ended inside a message (", *got,
                     " of ", length, " bytes)"));
  }
  return absl::OkStatus();
}

absl::StatusOr<Value> Connection::Recv() {
  uint8_t kind;
  std::string payload;
  if (absl::Status s = ReadFrame(&kind, &payload); !s.ok()) return s;
  if (kind != kValueFrame) {
    return absl::InvalidArgumentError(
        "connection: received raw bytes sent with SendBytes; use RecvBytes");
  }
  return DecodeValue(payload);
}

absl::StatusOr<std::string> Connection::RecvBytes() {
  uint8_t kind;
  std::string payload;
  if (absl::Status s = ReadFrame(&kind, &payload); !s.ok()) return s;
  return payload;
}

absl::StatusOr<bool> Connection::Poll(absl::Duration timeout) {
  if (absl::Status s = CheckOpen(true); !s.ok()) return s;
  return process_internal::WaitForFd(fd_.get(), POLLIN, absl::Now() + timeout);
}

}  // namespace mproc
