#include "tests/support/tcp_relay.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <vector>

#include "absl/strings/str_cat.h"
#include "tests/support/os_probes.h"

namespace mproc {
namespace testing {

TcpRelay::TcpRelay(const std::string& target) {
  const size_t colon = target.rfind(':');
  target_port_ = std::stoi(target.substr(colon + 1));
  listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  listen(listen_fd_, 16);
  socklen_t len = sizeof(addr);
  getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  address_ = absl::StrCat("127.0.0.1:", ntohs(addr.sin_port));
  thread_ = std::thread([this] { Serve(); });
}

TcpRelay::~TcpRelay() {
  stop_ = true;
  thread_.join();
  close(listen_fd_);
}

void TcpRelay::Serve() {
  std::vector<Pair> pairs;
  bool had_first = false;
  while (!stop_) {
    std::vector<pollfd> fds{{listen_fd_, POLLIN, 0}};
    for (const Pair& p : pairs) {
      fds.push_back({p.client, POLLIN, 0});
      fds.push_back({p.server, POLLIN, 0});
    }
    if (poll(fds.data(), fds.size(), 20) <= 0) continue;
    if (fds[0].revents & POLLIN) {
      const int client = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      const int server = ConnectLoopback(target_port_);
      if (client >= 0 && server >= 0) {
        pairs.push_back({client, server, !had_first});
        had_first = true;
      }
      continue;
    }
    for (size_t i = 0; i < pairs.size(); ++i) {
      bool closed = false;
      for (int side = 0; side < 2 && !closed; ++side) {
        if (!(fds[1 + 2 * i + side].revents & (POLLIN | POLLHUP))) continue;
        const int from = side == 0 ? pairs[i].client : pairs[i].server;
        const int to = side == 0 ? pairs[i].server : pairs[i].client;
        char buf[16384];
        const ssize_t n = read(from, buf, sizeof(buf));
        if (n <= 0 || write(to, buf, n) != n) {
          closed = true;
          break;
        }
        absl::MutexLock l(&mu_);
        (side == 0 ? sent_ : answered_).append(buf, n);
        if (side == 0 && pairs[i].first) first_sent_.append(buf, n);
      }
      if (closed) {
        close(pairs[i].client);
        close(pairs[i].server);
        pairs.erase(pairs.begin() + static_cast<long>(i));
        break;  // the poll set changed
      }
    }
  }
  for (const Pair& p : pairs) {
    close(p.client);
    close(p.server);
  }
}

}  // namespace testing
}  // namespace mproc
