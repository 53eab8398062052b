// mproc::Pipe: Python's multiprocessing.Pipe — two connected endpoints that
// carry mproc::Values (or raw bytes) between a parent and its forked
// children.
//
//   auto [parent, child] = *mproc::Pipe();
//   mproc::Process p([&] { child.Send(Value("hello")); }); ...
//   absl::StatusOr<Value> v = parent.Recv();
//
// Both ends are one AF_UNIX socketpair (close-on-exec, so an exec'd program
// never inherits them). Each message is one frame — an 8-byte header (kind,
// length) and the payload — written with one system call and read with two
// (header, then exactly the payload: no read-ahead, so processes taking
// turns on one end never steal each other's messages). Messages may be up to
// kMaxMessageBytes. After fork each process should close the end it does not
// use; then a reader sees end-of-file when every writer is gone.
//
// Thread-safety: one thread may send while another receives on the same
// Connection; two concurrent senders (or receivers) need external locking,
// as in Python.
#ifndef MPROC_WORKER_PROCESS_PIPE_H_
#define MPROC_WORKER_PROCESS_PIPE_H_

#include <cstdint>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/value.h"
#include "worker/process/internal/unique_fd.h"

namespace mproc {

inline constexpr uint64_t kMaxMessageBytes = uint64_t{1} << 32;  // 4 GiB

// 50 µs when this process may use more than one CPU, else zero.
absl::Duration DefaultReceiveSpin();

class Connection {
 public:
  Connection() = default;  // closed
  Connection(Connection&&) = default;
  Connection& operator=(Connection&&) = default;
  ~Connection() = default;  // closes the descriptor

  // Sends one Value. FAILED_PRECONDITION if this end is closed or
  // read-only, or the other end has closed (Python's BrokenPipeError);
  // INVALID_ARGUMENT if the encoding exceeds kMaxMessageBytes.
  absl::Status Send(const Value& value);
  // Sends raw bytes, received with RecvBytes (errors as Send).
  absl::Status SendBytes(absl::string_view data);

  // Blocks for the next message. OUT_OF_RANGE "end of file" once the other
  // end has closed and everything sent was read (Python's EOFError);
  // DATA_LOSS if the stream ends mid-message or is corrupt;
  // INVALID_ARGUMENT if the message was sent with SendBytes (it stays
  // consumed); FAILED_PRECONDITION if this end is closed or write-only.
  absl::StatusOr<Value> Recv();
  // The payload of the next message as bytes (for a Send message, its
  // encoding, which DecodeValue reads). Errors as Recv.
  absl::StatusOr<std::string> RecvBytes();

  // Whether Recv would return without blocking — a message (or end of
  // file) is waiting — within `timeout` (zero: just check).
  // FAILED_PRECONDITION if closed or write-only.
  absl::StatusOr<bool> Poll(absl::Duration timeout = absl::ZeroDuration());

  // How long Recv polls for a message before it sleeps in the kernel
  // (default DefaultReceiveSpin()). Polling catches a reply that is a few
  // microseconds away without the cost of a wake-up; zero never polls.
  void set_receive_spin(absl::Duration spin) { spin_ = spin; }

  // Closes this end (idempotent).
  void Close();

  bool closed() const { return !fd_.valid(); }
  bool readable() const { return readable_ && fd_.valid(); }
  bool writable() const { return writable_ && fd_.valid(); }
  // The descriptor, for poll/epoll loops (Python's fileno()); -1 if closed.
  int fd() const { return fd_.get(); }

 private:
  friend absl::StatusOr<std::pair<Connection, Connection>> Pipe(bool);
  Connection(int fd, bool readable, bool writable)
      : fd_(fd), readable_(readable), writable_(writable) {}

  absl::Status CheckOpen(bool for_reading) const;
  // Writes header + payload (`frame` holds the header's 8 bytes up front
  // when `payload` is empty) in as few system calls as the kernel allows.
  absl::Status WriteFrame(uint8_t kind, std::string* frame,
                          absl::string_view payload);
  // Reads one frame: its kind and payload.
  absl::Status ReadFrame(uint8_t* kind, std::string* payload);
  // Reads exactly `n` bytes unless the stream ends first; returns how many
  // were read. Never reads past the frame, so several processes may take
  // turns reading one shared end (under a lock), as Python's Queue does.
  absl::StatusOr<size_t> ReadExactly(char* buf, size_t n);
  // Polls up to spin_ for the first bytes of a header; returns how many it
  // read into `header` (0: none yet, or end of file — left to the blocking
  // read to report).
  size_t SpinForHeader(char* header);

  process_internal::UniqueFd fd_;
  bool readable_ = false;
  bool writable_ = false;
  absl::Duration spin_ = DefaultReceiveSpin();
};

// A connected pair. duplex: both ends send and receive. Otherwise the first
// end only receives and the second only sends, as Python's Pipe(False).
// RESOURCE_EXHAUSTED if out of descriptors.
absl::StatusOr<std::pair<Connection, Connection>> Pipe(bool duplex = true);

// Whether `status` is a Connection's end-of-file.
bool IsEndOfFile(const absl::Status& status);

}  // namespace mproc

#endif  // MPROC_WORKER_PROCESS_PIPE_H_
