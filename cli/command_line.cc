#include "cli/command_line.h"

#include <iostream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/flagfile.h"
#include "common/log.h"
#include "common/op_table.h"
#include "common/task_wire.h"

namespace mproc {
namespace cli {
namespace {

constexpr const char* kValueFlags[] = {"manager",
                                       "authkey-file",
                                       "listen",
                                       "max-message-bytes",
                                       "type",
                                       "length",
                                       "timeout",
                                       "session-lease",
                                       "result-ttl",
                                       "task-records",
                                       "interval",
                                       "log-level",
                                       "log-format",
                                       "slow-op-ms",
                                       "pool",
                                       "processes",
                                       "kwargs",
                                       "grace",
                                       "threads",
                                       "poll-spin-us",
                                       "max-unsent-bytes",
                                       "max-object-bytes",
                                       "data-dir",
                                       "fsync",
                                       "host",
                                       "client-name",
                                       "days",
                                       "tls-cert",
                                       "tls-key",
                                       "tls-client-ca",
                                       "tls-ca",
                                       "tls-server-name",
                                       "acl-file",
                                       "user",
                                       "roles",
                                       "pattern",
                                       "key-file",
                                       "service",
                                       "metrics-listen",
                                       "parties",
                                       "value",
                                       "wait",
                                       "args-file",
                                       "state",
                                       "name",
                                       "limit",
                                       "retries",
                                       "retry-on",
                                       "retry-backoff",
                                       "retry-backoff-max",
                                       "countdown",
                                       "eta",
                                       "priority",
                                       "expires"};

bool IsOneOf(const std::string& name, const char* const* begin,
             const char* const* end) {
  for (const char* const* p = begin; p != end; ++p) {
    if (name == *p) return true;
  }
  return false;
}

// Whether `arg` ("--name" or "--name=value") names one of mproc's flags.
bool IsKnownFlag(const std::string& arg) {
  if (!absl::StartsWith(arg, "--")) return false;
  std::string name =
      arg.substr(2, arg.find('=') == std::string::npos ? std::string::npos
                                                       : arg.find('=') - 2);
  return IsOneOf(name, std::begin(kBooleanFlags), std::end(kBooleanFlags)) ||
         IsOneOf(name, std::begin(kValueFlags), std::end(kValueFlags));
}

// After KIND OP NAME of an object command come its values.
bool InObjectValues(const CommandLine& cl) {
  return cl.positional.size() >= 3 &&
         KindFromName(cl.positional[0]).has_value();
}

}  // namespace

std::optional<std::string> CommandLine::Flag(const std::string& name) const {
  auto it = flags.find(name);
  if (it == flags.end()) return std::nullopt;
  return it->second;
}

absl::StatusOr<CommandLine> ParseCommandLine(int argc, char** argv) {
  CommandLine cl;
  bool flags_done = false;
  // A --flagfile where a flag may stand puts the file's flags in its place.
  std::vector<std::string> args(argv, argv + argc);
  for (size_t i = 1; i < args.size(); ++i) {
    std::string arg = args[i];
    if (flags_done || !absl::StartsWith(arg, "-") || arg == "-" ||
        (arg.size() > 1 && (std::isdigit(arg[1]) || arg[1] == '.')) ||
        (InObjectValues(cl) && arg != "--" && !IsKnownFlag(arg))) {
      cl.positional.push_back(std::move(arg));
      continue;
    }
    if (arg == "--") {
      flags_done = true;
      continue;
    }
    if (arg == "--help" || arg == "-h") {
      cl.help = true;
      continue;
    }
    if (!absl::StartsWith(arg, "--")) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown flag '", arg, "'"));
    }
    std::string name = arg.substr(2);
    std::string value;
    size_t eq = name.find('=');
    const bool has_inline_value = eq != std::string::npos;
    if (has_inline_value) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    if (name == "flagfile") {
      if (!has_inline_value) {
        if (i + 1 >= args.size()) {
          return absl::InvalidArgumentError("flag '--flagfile' needs a file");
        }
        value = args[++i];
      }
      std::vector<std::string> flags;
      if (absl::Status s = ReadFlagfile(value, &flags); !s.ok()) return s;
      args.insert(args.begin() + static_cast<ptrdiff_t>(i) + 1, flags.begin(),
                  flags.end());
      continue;
    }
    if (IsOneOf(name, std::begin(kBooleanFlags), std::end(kBooleanFlags))) {
      cl.flags[name] = has_inline_value ? value : "true";
      continue;
    }
    if (!IsOneOf(name, std::begin(kValueFlags), std::end(kValueFlags))) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown flag '--", name, "'"));
    }
    if (!has_inline_value) {
      if (i + 1 >= args.size()) {
        return absl::InvalidArgumentError(
            absl::StrCat("flag '--", name, "' needs a value"));
      }
      value = args[++i];
    }
    // --host may be given more than once: the names add up.
    if (name == "host" && cl.flags.count(name) > 0) {
      cl.flags[name] += "," + value;
      continue;
    }
    cl.flags[name] = value;
  }
  return cl;
}

absl::Status ConfigureLogFromFlags(const CommandLine& cl,
                                   const std::string& component) {
  LogOptions options;
  options.component = component;
  if (auto level = cl.Flag("log-level")) {
    absl::StatusOr<LogLevel> parsed = ParseLogLevel(*level);
    if (!parsed.ok()) return parsed.status();
    options.level = *parsed;
  }
  if (auto format = cl.Flag("log-format")) {
    absl::StatusOr<bool> json = ParseLogFormatIsJson(*format);
    if (!json.ok()) return json.status();
    options.json = *json;
  }
  ConfigureLog(options);
  return absl::OkStatus();
}

int Fail(int code, const std::string& message) {
  std::cerr << "mproc: " << message << std::endl;
  return code;
}

absl::StatusOr<absl::Duration> DurationFlag(const CommandLine& cl,
                                            const std::string& name,
                                            bool zero_allowed) {
  auto flag = cl.Flag(name);
  if (!flag.has_value()) return absl::InfiniteDuration();
  double seconds;
  if (!absl::SimpleAtod(*flag, &seconds) ||
      !(zero_allowed ? seconds >= 0 : seconds > 0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", name, " must be a number of seconds ",
                     zero_allowed ? ">= 0" : "> 0"));
  }
  return absl::Seconds(seconds);
}

absl::StatusOr<absl::Duration> TimeoutFlag(const CommandLine& cl,
                                           bool zero_allowed) {
  return DurationFlag(cl, "timeout", zero_allowed);
}

int ExitCodeOf(const absl::Status& status) {
  if (std::optional<std::string> type = TaskErrorType(status)) {
    return *type == "PermissionDenied" ? kExitDenied : kExitTaskFailed;
  }
  switch (status.code()) {
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
      return kExitUnavailable;
    case absl::StatusCode::kUnauthenticated:
    case absl::StatusCode::kPermissionDenied:
      return kExitDenied;
    default:
      return kExitFailed;
  }
}

int FailStatus(const absl::Status& status) {
  return Fail(ExitCodeOf(status), ErrorText(status));
}

}  // namespace cli
}  // namespace mproc
