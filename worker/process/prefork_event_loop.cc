// The pre-fork server's event-loop model: each process serves all its
// connections on one epoll loop with a DataHandler (prefork_server.h).
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string>
#include <unordered_map>
#include <vector>

#include "absl/time/clock.h"
#include "worker/process/internal/prefork_shared.h"
#include "worker/process/prefork_server.h"

namespace mproc {
namespace {

constexpr int kMaxEvents = 256;
constexpr absl::Duration kIdleSweepEvery = absl::Milliseconds(250);
// A process this many connections above its least-loaded sibling stops
// accepting until the loads even out (the kernel wakes the process that
// waited last: one would otherwise take most).
constexpr int64_t kShareSlack = 4;
constexpr absl::Duration kShareCheckEvery = absl::Milliseconds(1);
constexpr absl::Duration kLookEvery = absl::Milliseconds(10);
constexpr absl::Duration kAcceptPause = absl::Milliseconds(10);

struct Connection {
  std::string out;  // reply bytes not yet sent
  size_t out_offset = 0;
  absl::Time last_activity;
};

}  // namespace

int PreforkServer::LoopMain(int slot_index) {
  process_internal::PreforkShared::Slot& slot = shared_->slots[slot_index];
  slot.pid = getpid();
  signal(SIGPIPE, SIG_IGN);
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  sigset_t blocked = stop_signals;
  sigaddset(&blocked, SIGHUP);  // the arbiter's to act on
  sigprocmask(SIG_BLOCK, &blocked, nullptr);
  const int signals = signalfd(-1, &stop_signals, SFD_CLOEXEC | SFD_NONBLOCK);
  const int ep = epoll_create1(EPOLL_CLOEXEC);
  if (signals < 0 || ep < 0) return 1;
  epoll_event signal_event{};
  signal_event.events = EPOLLIN;
  signal_event.data.fd = signals;
  epoll_ctl(ep, EPOLL_CTL_ADD, signals, &signal_event);

  std::unordered_map<int, Connection> connections;
  bool listening = false;
  auto listen_on = [&](bool on) {
    if (on == listening) return;
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLEXCLUSIVE;  // one process woken per client
    ev.data.fd = listen_fd_;
    epoll_ctl(ep, on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, listen_fd_, &ev);
    listening = on;
  };
  auto close_connection = [&](int fd) {
    epoll_ctl(ep, EPOLL_CTL_DEL, fd, nullptr);
    close(fd);
    connections.erase(fd);
    --slot.active;
  };
  // Sends what is pending; false if the connection failed. While bytes
  // remain, the connection waits for room instead of being read.
  auto flush = [&](int fd, Connection& c) {
    while (c.out_offset < c.out.size()) {
      const ssize_t n = send(fd, c.out.data() + c.out_offset,
                             c.out.size() - c.out_offset, MSG_NOSIGNAL);
      if (n > 0) {
        c.out_offset += static_cast<size_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      return false;
    }
    const bool done = c.out_offset == c.out.size();
    if (done) {
      c.out.clear();
      c.out_offset = 0;
    }
    epoll_event ev{};
    ev.events = done ? EPOLLIN : EPOLLOUT;
    ev.data.fd = fd;
    epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
    return true;
  };

  slot.ready = 1;
  bool stopping = false;
  absl::Time drain_deadline = absl::InfiniteFuture();
  absl::Time next_sweep = absl::Now() + kIdleSweepEvery;
  int64_t accepted = 0;
  absl::Time accept_paused_until = absl::InfinitePast();
  // Takes the clients waiting in the backlog while this process has room
  // and is not above its share.
  auto accept_waiting = [&](absl::Time woke) {
    while (!stopping &&
           static_cast<int64_t>(connections.size()) <
               options_.max_connections &&
           static_cast<int64_t>(connections.size()) - kShareSlack <=
               shared_->LeastLoadedSibling(slot_index)) {
      const int client =
          accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
      if (client < 0) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
          // Out of descriptors or memory: stop asking for a while rather
          // than spin on a socket that stays readable.
          accept_paused_until = woke + kAcceptPause;
        }
        return;  // none left (another process took it), or no room
      }
      const int one = 1;
      setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.fd = client;
      epoll_ctl(ep, EPOLL_CTL_ADD, client, &ev);
      connections[client].last_activity = woke;
      ++slot.accepted;
      ++slot.active;
      if (options_.recycle_after > 0 && ++accepted >= options_.recycle_after) {
        stopping = true;  // served its share: drain and be replaced
        drain_deadline = woke + options_.grace;
        slot.ready = 0;
      }
    }
  };

  std::string buffer(64 << 10, '\0');
  std::string reply;
  epoll_event events[kMaxEvents];
  for (;;) {
    const int64_t active = static_cast<int64_t>(connections.size());
    const bool over_share =
        active - kShareSlack > shared_->LeastLoadedSibling(slot_index);
    const absl::Time now = absl::Now();
    const bool want = !stopping && active < options_.max_connections &&
                      !over_share && now >= accept_paused_until;
    listen_on(want);
    if (stopping && (connections.empty() || now >= drain_deadline)) break;
    absl::Duration wait = std::min(next_sweep, drain_deadline) - now;
    if (over_share) wait = std::min(wait, kShareCheckEvery);
    // EPOLLEXCLUSIVE wakes one process per new client: clients a sibling
    // left in the backlog (it filled up) wake nobody, so look now and then.
    if (want) wait = std::min(wait, kLookEvery);
    if (!want && now < accept_paused_until) {
      wait = std::min(wait, accept_paused_until - now);
    }
    const int timeout_ms = static_cast<int>(std::clamp<int64_t>(
        absl::ToInt64Milliseconds(wait + absl::Microseconds(999)), 0, 1000));
    const int n = epoll_wait(ep, events, kMaxEvents, timeout_ms);
    const absl::Time woke = absl::Now();
    if (n == 0 && listening) accept_waiting(woke);
    for (int e = 0; e < n; ++e) {
      const int fd = events[e].data.fd;
      if (fd == signals) {
        signalfd_siginfo info;
        while (read(signals, &info, sizeof(info)) == sizeof(info)) {
        }
        if (!stopping) {
          stopping = true;
          drain_deadline = woke + options_.grace;
          slot.ready = 0;
        }
        continue;
      }
      if (fd == listen_fd_) {
        accept_waiting(woke);
        continue;
      }
      auto it = connections.find(fd);
      if (it == connections.end()) continue;
      Connection& c = it->second;
      c.last_activity = woke;
      if (events[e].events & EPOLLOUT) {
        if (!flush(fd, c)) close_connection(fd);
        continue;
      }
      const ssize_t got = recv(fd, buffer.data(), buffer.size(), 0);
      if (got < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      if (got <= 0) {
        close_connection(fd);
        continue;
      }
      reply.clear();
      if (!data_handler_(absl::string_view(buffer.data(), got), &reply)) {
        close_connection(fd);
        continue;
      }
      if (reply.empty()) continue;
      c.out.swap(reply);
      c.out_offset = 0;
      if (!flush(fd, c)) close_connection(fd);
    }
    if (woke >= next_sweep) {
      next_sweep = woke + kIdleSweepEvery;
      std::vector<int> idle;
      for (const auto& [fd, c] : connections) {
        if (woke - c.last_activity > options_.idle_timeout) idle.push_back(fd);
      }
      for (int fd : idle) close_connection(fd);
    }
  }
  slot.ready = 0;
  for (auto& [fd, c] : connections) close(fd);
  return 0;
}

}  // namespace mproc
