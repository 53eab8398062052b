// What the dispatcher counts per request for --metrics-listen: requests by
// op and status code, and one latency histogram of the immediate answers.
// Relaxed atomics only: a request costs two clock reads and three adds.
// Read at scrape time (rpc/manager_metrics.h). Thread-safe.
#ifndef MPROC_SERVER_OP_STATS_H_
#define MPROC_SERVER_OP_STATS_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <vector>

namespace mproc {

class OpStats {
 public:
  static constexpr int kOps = 256;  // op numbers at or above count as 0
  static constexpr int kCodes = 18;
  static constexpr int kParked = 17;  // the code slot of parked calls
  // Upper bounds of the latency buckets, in microseconds (+Inf follows).
  static constexpr std::array<double, 12> kBucketsUs = {
      5, 10, 25, 50, 100, 250, 500, 1000, 2500, 10000, 100000, 1000000};

  // A request of `op` answered at once with `code` (a status code; others
  // count as UNKNOWN), or parked (`code` kParked: to be answered later, and
  // not timed), after `nanos` of the dispatcher's time.
  void Record(int op, int code, int64_t nanos);

  uint64_t Count(int op, int code) const {
    return counts_[Slot(op)][code].load(std::memory_order_relaxed);
  }

  struct Latency {
    std::vector<uint64_t> cumulative;  // per bucket, then +Inf
    uint64_t count = 0;
    double sum_seconds = 0;
  };
  Latency GetLatency() const;

 private:
  static int Slot(int op) { return op >= 0 && op < kOps ? op : 0; }

  std::atomic<uint64_t> counts_[kOps][kCodes] = {};
  std::atomic<uint64_t> buckets_[kBucketsUs.size() + 1] = {};
  std::atomic<uint64_t> sum_ns_{0};
};

}  // namespace mproc

#endif  // MPROC_SERVER_OP_STATS_H_
