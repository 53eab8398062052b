// The pre-fork server and ThreadPool benchmarks, run by
// bench/compare_prefork.py next to the seed's Python version.
//
//   prefork_bench client ADDR SYSTEM CONNECTIONS BYTES SECONDS
//       a closed-loop echo load on ADDR (host:port): CONNECTIONS
//       connections, each with one BYTES-long message in flight, driven
//       by one epoll thread; prints a row for SYSTEM with round trips/s,
//       p50 and p99.
//   prefork_bench floor
//       a single-process, single-thread epoll echo server on a free
//       loopback port (prints "port N"): the floor a pre-forked server is
//       measured against.
//   prefork_bench threadpool TASKS
//       ThreadPool.ApplyAsync of TASKS trivial tasks (then every Get), and
//       the round trip of one Apply.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <iostream>
#include <string>
#include <unordered_map>
#include <vector>

#include "absl/strings/numbers.h"
#include "bench/report.h"
#include "worker/process/thread_pool.h"

namespace mproc {
namespace bench {
namespace {

int Fail(const std::string& what) {
  std::cerr << "prefork_bench: " << what << ": " << strerror(errno)
            << std::endl;
  return 1;
}

void NoDelay(int fd) {
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

int Client(const std::string& address, const std::string& system,
           int connections, size_t bytes, double seconds) {
  int port = 0;
  if (!absl::SimpleAtoi(address.substr(address.rfind(':') + 1), &port)) {
    std::cerr << "prefork_bench: bad address " << address << std::endl;
    return 2;
  }
  struct Conn {
    int fd = -1;
    size_t received = 0;
    Clock::time_point sent;
  };
  std::vector<Conn> conns(connections);
  const int ep = epoll_create1(EPOLL_CLOEXEC);
  const std::string message(bytes, 'x');
  std::string buffer(1 << 16, '\0');
  for (int i = 0; i < connections; ++i) {
    Conn& c = conns[i];
    c.fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(c.fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      return Fail("connect");
    }
    NoDelay(c.fd);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u32 = static_cast<uint32_t>(i);
    epoll_ctl(ep, EPOLL_CTL_ADD, c.fd, &ev);
  }
  auto send_message = [&](Conn& c) {
    c.received = 0;
    c.sent = Clock::now();
    size_t off = 0;
    while (off < message.size()) {  // 4 KB fits the socket buffer
      const ssize_t n =
          send(c.fd, message.data() + off, message.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return false;
      off += static_cast<size_t>(n);
    }
    return true;
  };
  for (Conn& c : conns) {
    if (!send_message(c)) return Fail("send");
  }
  std::vector<double> latencies;
  latencies.reserve(1 << 20);
  int64_t round_trips = 0;
  const auto start = Clock::now();
  const auto end = start + std::chrono::duration_cast<Clock::duration>(
                               std::chrono::duration<double>(seconds));
  std::vector<epoll_event> events(connections);
  while (Clock::now() < end) {
    const int n = epoll_wait(ep, events.data(), connections, 100);
    for (int e = 0; e < n; ++e) {
      Conn& c = conns[events[e].data.u32];
      const ssize_t got = recv(c.fd, buffer.data(), buffer.size(), 0);
      if (got <= 0) return Fail("recv (the server closed a connection)");
      c.received += static_cast<size_t>(got);
      if (c.received < bytes) continue;
      latencies.push_back(
          std::chrono::duration<double, std::micro>(Clock::now() - c.sent)
              .count());
      ++round_trips;
      if (!send_message(c)) return Fail("send");
    }
  }
  const double elapsed = Seconds(Clock::now() - start);
  for (Conn& c : conns) close(c.fd);
  close(ep);
  std::string line;
  std::sort(latencies.begin(), latencies.end());
  auto at = [&](double q) {
    return latencies.empty()
               ? 0.0
               : latencies[static_cast<size_t>(q * (latencies.size() - 1))];
  };
  std::cout << "{\"system\": \"" << system << "\", \"transport\": \"tcp\", "
            << "\"workload\": \"echo " << bytes << " B, " << connections
            << " connections\", \"ops_per_s\": " << round_trips / elapsed
            << ", \"p50_us\": " << at(0.5) << ", \"p99_us\": " << at(0.99)
            << "}" << std::endl;
  return 0;
}

// One process, one thread, epoll: the least a server can cost here.
int Floor() {
  const int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      listen(listener, 1024) != 0) {
    return Fail("bind");
  }
  socklen_t length = sizeof(addr);
  getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &length);
  std::cout << "port " << ntohs(addr.sin_port) << std::endl;
  const int ep = epoll_create1(EPOLL_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = listener;
  epoll_ctl(ep, EPOLL_CTL_ADD, listener, &ev);
  std::string buffer(1 << 16, '\0');
  epoll_event events[256];
  for (;;) {
    const int n = epoll_wait(ep, events, 256, -1);
    for (int e = 0; e < n; ++e) {
      const int fd = events[e].data.fd;
      if (fd == listener) {
        const int c = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
        if (c < 0) continue;
        NoDelay(c);
        epoll_event cev{};
        cev.events = EPOLLIN;
        cev.data.fd = c;
        epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
        continue;
      }
      const ssize_t got = recv(fd, buffer.data(), buffer.size(), 0);
      if (got <= 0) {
        close(fd);
        continue;
      }
      size_t off = 0;
      while (off < static_cast<size_t>(got)) {
        const ssize_t w =
            send(fd, buffer.data() + off, got - off, MSG_NOSIGNAL);
        if (w <= 0) break;
        off += static_cast<size_t>(w);
      }
    }
  }
}

int ThreadPoolBench(int tasks) {
  ThreadPool pool(4);
  {
    std::vector<ThreadResult<int>> results;
    results.reserve(tasks);
    const auto start = Clock::now();
    for (int i = 0; i < tasks; ++i) {
      results.push_back(
          pool.ApplyAsync([](int x) { return x + 1; }, std::make_tuple(i)));
    }
    int64_t sum = 0;
    for (const auto& r : results) sum += *r.Get();
    const double elapsed = Seconds(Clock::now() - start);
    if (sum <= 0) return 1;
    PrintRow("threads", "ThreadPool apply_async, 4 threads", tasks / elapsed,
             nullptr);
  }
  std::vector<double> latencies;
  const int rounds = std::min(tasks, 20000);
  const auto start = Clock::now();
  for (int i = 0; i < rounds; ++i) {
    const auto t = Clock::now();
    if (!pool.Apply([](int x) { return x; }, i).ok()) return 1;
    latencies.push_back(
        std::chrono::duration<double, std::micro>(Clock::now() - t).count());
  }
  PrintRow("threads", "ThreadPool apply round trip",
           rounds / Seconds(Clock::now() - start), &latencies);
  return 0;
}

}  // namespace
}  // namespace bench
}  // namespace mproc

int main(int argc, char** argv) {
  using namespace mproc::bench;
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "client" && argc == 7) {
    return Client(argv[2], argv[3], std::atoi(argv[4]),
                  static_cast<size_t>(std::atol(argv[5])), std::atof(argv[6]));
  }
  if (mode == "floor") return Floor();
  if (mode == "threadpool" && argc == 3) {
    return ThreadPoolBench(std::atoi(argv[2]));
  }
  std::cerr << "usage: prefork_bench client ADDR SYSTEM CONNECTIONS BYTES "
               "SECONDS | floor | threadpool TASKS"
            << std::endl;
  return 2;
}
