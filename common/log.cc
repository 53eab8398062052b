#include "common/log.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>

#include "absl/base/thread_annotations.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace mproc {
namespace {

struct LogState {
  std::atomic<int> level{static_cast<int>(LogLevel::kInfo)};
  std::atomic<bool> json{false};
  absl::Mutex mu;
  std::string component ABSL_GUARDED_BY(mu) = "mproc";
};

LogState& State() {
  static LogState* const state = new LogState;
  return *state;
}

const char* LevelName(LogLevel level, bool upper) {
  switch (level) {
    case LogLevel::kDebug:
      return upper ? "DEBUG" : "debug";
    case LogLevel::kInfo:
      return upper ? "INFO" : "info";
    case LogLevel::kWarning:
      return upper ? "WARNING" : "warning";
    case LogLevel::kError:
      return upper ? "ERROR" : "error";
  }
  return "info";
}

// The most bytes of a message kept: a line stays one write.
constexpr size_t kMaxMessageBytes = 2048;

// `text` for one text line: control bytes (newlines, escapes) written as
// \xNN, so no message can forge a line or drive the terminal; cut to
// kMaxMessageBytes.
std::string Printable(absl::string_view text) {
  std::string out;
  out.reserve(std::min(text.size(), kMaxMessageBytes) + 8);
  for (char c : text) {
    if (out.size() >= kMaxMessageBytes) {
      out += "...";
      break;
    }
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f) {
      absl::StrAppend(&out, "\\x", absl::Hex(byte, absl::kZeroPad2));
    } else {
      out.push_back(c);
    }
  }
  return out;
}

}  // namespace

absl::StatusOr<LogLevel> ParseLogLevel(absl::string_view text) {
  const std::string t = absl::AsciiStrToLower(text);
  if (t == "debug") return LogLevel::kDebug;
  if (t == "info") return LogLevel::kInfo;
  if (t == "warning" || t == "warn") return LogLevel::kWarning;
  if (t == "error") return LogLevel::kError;
  return absl::InvalidArgumentError(absl::StrCat(
      "--log-level '", text, "': want debug, info, warning or error"));
}

absl::StatusOr<bool> ParseLogFormatIsJson(absl::string_view text) {
  if (text == "text") return false;
  if (text == "json") return true;
  return absl::InvalidArgumentError(
      absl::StrCat("--log-format '", text, "': want text or json"));
}

void ConfigureLog(const LogOptions& options) {
  LogState& s = State();
  s.level = static_cast<int>(options.level);
  s.json = options.json;
  SetLogComponent(options.component);
}

void SetLogComponent(const std::string& component) {
  LogState& s = State();
  absl::MutexLock l(&s.mu);
  s.component = component;
}

bool LogLimiter::Take(int64_t* skipped) {
  absl::MutexLock l(&mu_);
  const absl::Time now = absl::Now();
  if (now - last_ < absl::Seconds(1)) {
    ++skipped_;
    return false;
  }
  last_ = now;
  *skipped = skipped_;
  skipped_ = 0;
  return true;
}

bool LogEnabled(LogLevel level) {
  return static_cast<int>(level) >= State().level.load();
}

void Log(LogLevel level, absl::string_view event, absl::string_view message,
         const Map& fields) {
  if (!LogEnabled(level)) return;
  LogState& s = State();
  std::string component;
  {
    absl::MutexLock l(&s.mu);
    component = s.component;
  }
  const absl::Time now = absl::Now();
  const std::string time =
      absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", now, absl::UTCTimeZone());
  std::string line;
  if (s.json) {
    Map m = fields;
    m[Value("time")] = time;
    m[Value("level")] = LevelName(level, false);
    m[Value("component")] = component;
    m[Value("pid")] = static_cast<int64_t>(getpid());
    m[Value("event")] = std::string(event);
    m[Value("message")] = std::string(message.substr(0, kMaxMessageBytes));
    line = Value(std::move(m)).ToJson();
  } else {
    line = absl::StrCat(time, " ", LevelName(level, true), " ", component, "[",
                        getpid(), "] ", event, ": ", Printable(message));
  }
  line.push_back('\n');
  for (size_t done = 0; done < line.size();) {
    const ssize_t n =
        write(STDERR_FILENO, line.data() + done, line.size() - done);
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
}

}  // namespace mproc
