#include "server/rpc/rate_limited_log.h"

#include "absl/strings/str_cat.h"
#include "common/log.h"

namespace mproc {

void RateLimitedLog::Write(absl::string_view event, const std::string& line) {
  int64_t unlogged = 0;
  if (!limiter_.Take(&unlogged)) return;
  Log(LogLevel::kWarning, event,
      unlogged > 0 ? absl::StrCat(line, " (and ", unlogged, " more not shown)")
                   : line);
}

}  // namespace mproc
