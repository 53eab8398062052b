#include "worker/process/prefork_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <iostream>
#include <new>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "worker/process/internal/listen_socket.h"
#include "worker/process/internal/prefork_shared.h"
#include "worker/process/internal/unique_fd.h"
#include "worker/process/process.h"
#include "worker/process/process_group.h"
#include "worker/process/thread_pool.h"

namespace mproc {

using process_internal::ErrnoStatus;
using process_internal::WaitForFd;

namespace {

// How often a stopping process re-interrupts its blocked accept (a signal
// that came just before accept(2) was entered would be lost).
constexpr absl::Duration kInterruptEvery = absl::Milliseconds(10);
// How often a process that holds more than its share looks again.
constexpr absl::Duration kShareCheckEvery = absl::Milliseconds(1);

// SIGUSR1 only interrupts a blocked accept (installed without SA_RESTART).
void Interrupted(int) {}

std::string PeerName(const sockaddr_storage& peer) {
  char host[INET6_ADDRSTRLEN] = {};
  if (peer.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&peer);
    inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
    return absl::StrCat(host, ":", ntohs(in->sin_port));
  }
  if (peer.ss_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&peer);
    inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
    return absl::StrCat("[", host, "]:", ntohs(in6->sin6_port));
  }
  return "unix";
}

}  // namespace

absl::StatusOr<size_t> ServerConnection::Read(char* buffer, size_t max) {
  for (;;) {
    const ssize_t n = recv(fd_, buffer, max, 0);
    if (n >= 0) return static_cast<size_t>(n);
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      return absl::UnavailableError(ErrnoStatus(errno, "recv").message());
    }
    absl::StatusOr<bool> ready =
        WaitForFd(fd_, POLLIN, absl::Now() + idle_timeout_);
    if (!ready.ok()) return ready.status();
    if (!*ready) {
      return absl::DeadlineExceededError(
          absl::StrCat("connection from ", peer_, " sent nothing for ",
                       absl::FormatDuration(idle_timeout_)));
    }
  }
}

absl::Status ServerConnection::Write(absl::string_view data) {
  while (!data.empty()) {
    const ssize_t n = send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
    if (n >= 0) {
      data.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      return absl::UnavailableError(ErrnoStatus(errno, "send").message());
    }
    absl::StatusOr<bool> ready =
        WaitForFd(fd_, POLLOUT, absl::Now() + idle_timeout_);
    if (!ready.ok()) return ready.status();
    if (!*ready) {
      return absl::DeadlineExceededError(
          absl::StrCat("connection from ", peer_, " read nothing for ",
                       absl::FormatDuration(idle_timeout_)));
    }
  }
  return absl::OkStatus();
}

bool EchoData(absl::string_view data, std::string* reply) {
  reply->append(data.data(), data.size());
  return true;
}

void EchoHandler(ServerConnection& connection) {
  char buffer[64 << 10];
  for (;;) {
    absl::StatusOr<size_t> n = connection.Read(buffer, sizeof(buffer));
    if (!n.ok() || *n == 0) return;
    if (!connection.Write(absl::string_view(buffer, *n)).ok()) return;
  }
}

absl::StatusOr<std::unique_ptr<PreforkServer>> PreforkServer::Listen(
    PreforkOptions options, ConnectionHandler handler) {
  if (!handler) {
    return absl::InvalidArgumentError("pre-fork server needs a handler");
  }
  return Listen(std::move(options), std::move(handler), nullptr);
}

absl::StatusOr<std::unique_ptr<PreforkServer>> PreforkServer::Listen(
    PreforkOptions options, DataHandler handler) {
  if (!handler) {
    return absl::InvalidArgumentError("pre-fork server needs a handler");
  }
  return Listen(std::move(options), nullptr, std::move(handler));
}

absl::StatusOr<std::unique_ptr<PreforkServer>> PreforkServer::Listen(
    PreforkOptions options, ConnectionHandler handler,
    DataHandler data_handler) {
  const int processes = options.processes > 0 ? options.processes : CpuCount();
  if (processes > process_internal::kMaxPreforkProcesses ||
      options.threads < 1 || options.max_connections < 1 ||
      options.recycle_after < 0 ||
      options.idle_timeout <= absl::ZeroDuration() ||
      options.grace < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "pre-fork server options: processes must be at most ",
        process_internal::kMaxPreforkProcesses,
        ", threads and max_connections at least 1, recycle_after at least 0, "
        "idle_timeout positive and grace not negative"));
  }
  absl::StatusOr<process_internal::ListenSocket> socket =
      process_internal::Listen(options.listen, options.backlog);
  if (!socket.ok()) return socket.status();
  void* memory =
      mmap(nullptr, sizeof(process_internal::PreforkShared),
           PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (memory == MAP_FAILED) return ErrnoStatus(errno, "mmap");
  options.processes = processes;
  if (data_handler) {
    // Event loops accept only when epoll says a client waits, and another
    // process may take it first: accept must not block.
    fcntl(socket->fd.get(), F_SETFL,
          fcntl(socket->fd.get(), F_GETFL) | O_NONBLOCK);
  }
  return std::unique_ptr<PreforkServer>(new PreforkServer(
      std::move(options), std::move(handler), std::move(data_handler),
      socket->fd.Release(), socket->address,
      new (memory) process_internal::PreforkShared()));
}

PreforkServer::PreforkServer(PreforkOptions options, ConnectionHandler handler,
                             DataHandler data_handler, int fd,
                             std::string address,
                             process_internal::PreforkShared* shared)
    : options_(std::move(options)),
      handler_(std::move(handler)),
      data_handler_(std::move(data_handler)),
      processes_(options_.processes),
      listen_fd_(fd),
      address_(std::move(address)),
      shared_(shared) {}

PreforkServer::~PreforkServer() {
  close(listen_fd_);
  shared_->~PreforkShared();
  munmap(shared_, sizeof(process_internal::PreforkShared));
}

int PreforkServer::Run() {
  if (data_handler_) {
    std::cout << options_.name << ": " << processes_
              << " processes, an event loop each, on " << address_ << std::endl;
  } else {
    std::cout << options_.name << ": " << processes_ << " processes x "
              << options_.threads << " threads on " << address_ << std::endl;
  }
  ProcessGroupOptions group;
  group.processes = processes_;
  group.name = options_.name;
  group.grace = options_.grace;
  group.reload_on_sighup = true;
  ProcessGroupHooks hooks;
  hooks.child = [this](int slot) {
    return data_handler_ ? LoopMain(slot) : ChildMain(slot);
  };
  hooks.ready = [this](int slot) { return shared_->slots[slot].ready == 1; };
  hooks.starting = [this](int slot) { shared_->slots[slot].Reset(); };
  hooks.ended = [this](int slot, pid_t, int) {
    shared_->retired_accepted += shared_->slots[slot].accepted.load();
    shared_->slots[slot].Reset();
  };
  return RunProcessGroup(group, hooks);
}

PreforkCounters PreforkServer::Counters() const {
  PreforkCounters out;
  out.accepted = shared_->retired_accepted.load();
  for (const process_internal::PreforkShared::Slot& slot : shared_->slots) {
    const pid_t pid = slot.pid.load();
    if (pid == 0) continue;
    PreforkChildCounters child{pid, slot.accepted.load(), slot.active.load()};
    out.accepted += child.accepted;
    out.active += child.active;
    out.children.push_back(child);
  }
  return out;
}

int PreforkServer::ChildMain(int slot_index) {
  process_internal::PreforkShared::Slot& slot = shared_->slots[slot_index];
  slot.pid = getpid();
  // Stop signals go to a thread of their own; SIGUSR1 interrupts accept.
  sigset_t blocked;
  sigemptyset(&blocked);
  sigaddset(&blocked, SIGTERM);
  sigaddset(&blocked, SIGINT);
  sigaddset(&blocked, SIGHUP);
  sigaddset(&blocked, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &blocked, nullptr);
  signal(SIGPIPE, SIG_IGN);
  struct sigaction interrupt {};
  interrupt.sa_handler = Interrupted;
  sigaction(SIGUSR1, &interrupt, nullptr);  // no SA_RESTART

  // Shared with the signal thread, which may outlive this function (the
  // process then ends at once).
  struct State {
    absl::Mutex mu;
    bool stopping ABSL_GUARDED_BY(mu) = false;
    int64_t active ABSL_GUARDED_BY(mu) = 0;
    std::atomic<bool> accepting_done{false};
  };
  auto shared_state = std::make_shared<State>();
  State& state = *shared_state;
  const pthread_t acceptor = pthread_self();
  std::thread signals([shared_state, acceptor] {
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    int signal_number = 0;
    sigwait(&stop, &signal_number);
    {
      absl::MutexLock l(&shared_state->mu);
      shared_state->stopping = true;
    }
    while (!shared_state->accepting_done) {
      pthread_kill(acceptor, SIGUSR1);
      absl::SleepFor(kInterruptEvery);
    }
  });
  signals.detach();  // it may wait in sigwait for ever; _exit ends it

  ThreadPool pool(options_.threads);
  sigset_t usr1;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  pthread_sigmask(SIG_UNBLOCK, &usr1, nullptr);  // this thread only
  slot.ready = 1;

  int64_t accepted = 0;
  for (;;) {
    {
      absl::MutexLock l(&state.mu);
      auto room = [&state, this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(state.mu) {
        return state.stopping || state.active < options_.max_connections;
      };
      state.mu.Await(absl::Condition(&room));
      // More than a thread pool's worth above a sibling: leave the next
      // connections to it (it waits in accept) until the loads even out.
      while (!state.stopping && state.active - options_.threads >
                                    shared_->LeastLoadedSibling(slot_index)) {
        state.mu.AwaitWithTimeout(absl::Condition(&state.stopping),
                                  kShareCheckEvery);
      }
      if (state.stopping) break;
    }
    sockaddr_storage peer{};
    socklen_t peer_length = sizeof(peer);
    const int fd = accept4(listen_fd_, reinterpret_cast<sockaddr*>(&peer),
                           &peer_length, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      // Out of descriptors or memory: let connections end, then retry.
      absl::SleepFor(absl::Milliseconds(10));
      continue;
    }
    if (peer.ss_family == AF_INET || peer.ss_family == AF_INET6) {
      const int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    ++accepted;
    ++slot.accepted;
    ++slot.active;
    {
      absl::MutexLock l(&state.mu);
      ++state.active;
    }
    pool.ApplyAsync([this, fd, peer_name = PeerName(peer), &state, &slot] {
      ServerConnection connection(fd, peer_name, options_.idle_timeout);
      handler_(connection);
      close(fd);
      --slot.active;
      absl::MutexLock l(&state.mu);
      --state.active;
    });
    if (options_.recycle_after > 0 && accepted >= options_.recycle_after) {
      break;  // served its share: drain and be replaced
    }
  }
  state.accepting_done = true;
  slot.ready = 0;

  // Drain: open connections get the grace period.
  const absl::Time deadline = absl::Now() + options_.grace;
  bool drained;
  {
    absl::MutexLock l(&state.mu);
    auto idle = [&state]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(state.mu) {
      return state.active == 0;
    };
    drained = state.mu.AwaitWithDeadline(absl::Condition(&idle), deadline);
  }
  if (!drained) _exit(0);  // what is still open closes with the process
  pool.Close();
  pool.Join().IgnoreError();
  return 0;
}

}  // namespace mproc
