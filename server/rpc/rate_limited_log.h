// Log lines (common/log.h, warnings) about refused peers, at most one a
// second with a count of those left out, so that a peer cannot flood the
// log. Thread-safe.
#ifndef MPROC_SERVER_RPC_RATE_LIMITED_LOG_H_
#define MPROC_SERVER_RPC_RATE_LIMITED_LOG_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "common/log.h"

namespace mproc {

class RateLimitedLog {
 public:
  // Logs `line` as `event` unless a line went out less than a second ago
  // (then it is only counted, and the next line says how many).
  void Write(absl::string_view event, const std::string& line);

 private:
  LogLimiter limiter_;
};

}  // namespace mproc

#endif  // MPROC_SERVER_RPC_RATE_LIMITED_LOG_H_
