// A recording TCP relay between clients and a manager, for tests about
// what crosses the network.
#ifndef MPROC_TESTS_SUPPORT_TCP_RELAY_H_
#define MPROC_TESTS_SUPPORT_TCP_RELAY_H_

#include <atomic>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace mproc {
namespace testing {

// A TCP relay on a loopback port to the manager at `target` (HOST:PORT),
// recording what passes each way, as a network observer would see it.
class TcpRelay {
 public:
  explicit TcpRelay(const std::string& target);
  ~TcpRelay();
  const std::string& address() const { return address_; }
  // What clients sent, and what the manager answered, over all
  // connections so far; the first connection's client bytes alone.
  std::string Sent() {
    absl::MutexLock l(&mu_);
    return sent_;
  }
  std::string Answered() {
    absl::MutexLock l(&mu_);
    return answered_;
  }
  std::string FirstConnectionSent() {
    absl::MutexLock l(&mu_);
    return first_sent_;
  }

 private:
  struct Pair {
    int client;
    int server;
    bool first;
  };

  void Serve();

  int listen_fd_ = -1;
  int target_port_ = 0;
  std::string address_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  absl::Mutex mu_;
  std::string sent_ ABSL_GUARDED_BY(mu_);
  std::string answered_ ABSL_GUARDED_BY(mu_);
  std::string first_sent_ ABSL_GUARDED_BY(mu_);
};

}  // namespace testing
}  // namespace mproc

#endif  // MPROC_TESTS_SUPPORT_TCP_RELAY_H_
