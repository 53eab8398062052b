#include "server/op_stats.h"

#include <cstddef>

namespace mproc {

void OpStats::Record(int op, int code, int64_t nanos) {
  if (code < 0 || code >= kCodes) code = 2;  // not a status code: UNKNOWN
  counts_[Slot(op)][code].fetch_add(1, std::memory_order_relaxed);
  if (code == kParked) return;
  const double us = static_cast<double>(nanos) / 1000;
  std::size_t bucket = 0;
  while (bucket < kBucketsUs.size() && us > kBucketsUs[bucket]) ++bucket;
  buckets_[bucket].fetch_add(1, std::memory_order_relaxed);
  sum_ns_.fetch_add(static_cast<uint64_t>(nanos), std::memory_order_relaxed);
}

OpStats::Latency OpStats::GetLatency() const {
  Latency out;
  uint64_t running = 0;
  for (const auto& bucket : buckets_) {
    running += bucket.load(std::memory_order_relaxed);
    out.cumulative.push_back(running);
  }
  out.count = running;
  out.sum_seconds =
      static_cast<double>(sum_ns_.load(std::memory_order_relaxed)) / 1e9;
  return out;
}

}  // namespace mproc
