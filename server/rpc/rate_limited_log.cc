#include "server/rpc/rate_limited_log.h"

#include <iostream>

#include "absl/time/clock.h"

namespace mproc {

void RateLimitedLog::Write(const std::string& line) {
  int64_t unlogged = 0;
  {
    absl::MutexLock l(&mu_);
    const absl::Time now = absl::Now();
    if (now - last_ < absl::Seconds(1)) {
      ++unlogged_;
      return;
    }
    last_ = now;
    unlogged = unlogged_;
    unlogged_ = 0;
  }
  std::cerr << "mproc manager: " << line;
  if (unlogged > 0) std::cerr << " (and " << unlogged << " more not shown)";
  std::cerr << std::endl;
}

}  // namespace mproc
