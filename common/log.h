// The process's log: one line per event on stderr, as text
//   2026-12-03T14:35:00.123Z INFO manager[812] worker_joined: worker vm:77 ...
// or, with --log-format json, as one JSON object per line
//   {"time": "...", "level": "info", "component": "manager", "pid": 812,
//    "event": "worker_joined", "message": "worker vm:77 ...", ...fields}.
// Events are short snake_case names a script can match; `fields` add
// structured facts (pool, task id, peer, seconds, ...). Never pass keys,
// tokens, session ids or task payloads: the log is not a secret.
// Thread-safe; each line is one write(2), so lines of concurrent threads
// and processes sharing stderr do not interleave. Messages are cut to
// 2 KiB; in text lines control bytes show as \xNN (JSON escapes them), so
// a name or an error text cannot forge a line.
#ifndef MPROC_COMMON_LOG_H_
#define MPROC_COMMON_LOG_H_

#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/value.h"

namespace mproc {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

// "debug", "info", "warning" (or "warn"), "error"; INVALID_ARGUMENT naming
// the choices otherwise.
absl::StatusOr<LogLevel> ParseLogLevel(absl::string_view text);
// "text" or "json" (true); INVALID_ARGUMENT otherwise.
absl::StatusOr<bool> ParseLogFormatIsJson(absl::string_view text);

struct LogOptions {
  LogLevel level = LogLevel::kInfo;
  bool json = false;
  std::string component = "mproc";  // manager, worker, up, ...
};
// Sets how this process logs from now on (before its threads start, best).
void ConfigureLog(const LogOptions& options);
// Only the component changes (a forked worker process, say).
void SetLogComponent(const std::string& component);

bool LogEnabled(LogLevel level);

// At most one line a second for an event a caller can repeat at will (a
// refused peer, a slow request), so nobody can flood the log. Thread-safe.
class LogLimiter {
 public:
  // True if a line may go out now; then `*skipped` is how many were
  // refused since the last one that went out.
  bool Take(int64_t* skipped);

 private:
  absl::Mutex mu_;
  absl::Time last_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  int64_t skipped_ ABSL_GUARDED_BY(mu_) = 0;
};
void Log(LogLevel level, absl::string_view event, absl::string_view message,
         const Map& fields = {});

}  // namespace mproc

#endif  // MPROC_COMMON_LOG_H_
