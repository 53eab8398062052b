#include "server/rpc/rate_limited_log.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/log.h"

namespace mproc {

void RateLimitedLog::Write(absl::string_view event, const std::string& line) {
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
  Log(LogLevel::kWarning, event,
      unlogged > 0 ? absl::StrCat(line, " (and ", unlogged, " more not shown)")
                   : line);
}

}  // namespace mproc
