#include "worker/worker_options.h"

#include <cstdlib>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "client/manager.h"
#include "common/authkey_file.h"

namespace mproc {
namespace {

absl::Status Bad(absl::string_view flag, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("--", flag, ": ", why));
}

}  // namespace

absl::StatusOr<WorkerOptions> ParseWorkerFlags(
    const std::vector<std::string>& args) {
  WorkerOptions options;
  bool key_given = false;
  if (const char* address = std::getenv("MPROC_ADDRESS")) {
    options.manager = address;
  }
  for (size_t i = 0; i < args.size(); ++i) {
    std::string flag = args[i];
    if (!absl::StartsWith(flag, "--")) {
      return absl::InvalidArgumentError(
          absl::StrCat("unexpected argument '", flag, "'"));
    }
    flag = flag.substr(2);
    std::string value;
    bool has_value = false;
    if (size_t eq = flag.find('='); eq != std::string::npos) {
      value = flag.substr(eq + 1);
      flag = flag.substr(0, eq);
      has_value = true;
    }
    if (flag == "allow-exec") {
      options.allow_exec = !has_value || value == "true" || value == "1";
      continue;
    }
    if (flag == "no-auth") {
      options.no_auth = !has_value || value == "true" || value == "1";
      continue;
    }
    if (!has_value) {
      if (i + 1 >= args.size()) return Bad(flag, "needs a value");
      value = args[++i];
    }
    if (flag == "manager") {
      options.manager = value;
    } else if (flag == "pool") {
      if (value.empty()) return Bad(flag, "must not be empty");
      options.pool = value;
    } else if (flag == "authkey-file") {
      absl::StatusOr<std::string> key = LoadAuthkey(value);
      if (!key.ok()) return Bad(flag, key.status().message());
      options.authkey = *key;
      key_given = true;
    } else if (flag == "user") {
      options.user = value;
    } else if (flag == "tls-ca") {
      options.tls_ca = value;
    } else if (flag == "tls-cert") {
      options.tls_cert = value;
    } else if (flag == "tls-key") {
      options.tls_key = value;
    } else if (flag == "tls-server-name") {
      options.tls_server_name = value;
    } else if (flag == "processes") {
      if (!absl::SimpleAtoi(value, &options.processes) ||
          options.processes < 1 || options.processes > 1024) {
        return Bad(flag, "must be an integer from 1 to 1024");
      }
    } else if (flag == "maxtasksperchild") {
      if (!absl::SimpleAtoi(value, &options.maxtasksperchild) ||
          options.maxtasksperchild < 1) {
        return Bad(flag, "must be an integer >= 1");
      }
    } else if (flag == "prefetch") {
      if (!absl::SimpleAtoi(value, &options.prefetch) || options.prefetch < 1 ||
          options.prefetch > 100000) {
        return Bad(flag, "must be an integer from 1 to 100000");
      }
    } else if (flag == "batch-ms") {
      double ms;
      if (!absl::SimpleAtod(value, &ms) || !(ms >= 0) || ms > 60000) {
        return Bad(flag, "must be a number of milliseconds from 0 to 60000");
      }
      options.batch = absl::Milliseconds(ms);
    } else if (flag == "grace") {
      double seconds;
      if (!absl::SimpleAtod(value, &seconds) || !(seconds >= 0)) {
        return Bad(flag, "must be a number of seconds >= 0");
      }
      options.grace = absl::Seconds(seconds);
    } else if (flag == "initializer") {
      options.initializer_task = value;
    } else if (flag == "log-level") {
      absl::StatusOr<LogLevel> level = ParseLogLevel(value);
      if (!level.ok()) return level.status();
      options.log.level = *level;
    } else if (flag == "log-format") {
      absl::StatusOr<bool> json = ParseLogFormatIsJson(value);
      if (!json.ok()) return json.status();
      options.log.json = *json;
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          "unknown flag '--", flag, "' (see mproc worker --help)"));
    }
  }
  if (options.no_auth && key_given) {
    return Bad("no-auth", "excludes --authkey-file");
  }
  if (!options.no_auth && !key_given) {
    // $MPROC_AUTHKEY, else this user's default key file: read now, before
    // the processes are forked (they prove it to the manager).
    absl::StatusOr<std::string> key = LoadAuthkey("");
    if (!key.ok()) return absl::InvalidArgumentError(key.status().message());
    if (key->empty()) {
      // Never serve whatever manager listens there without proving it.
      return absl::InvalidArgumentError(absl::StrCat(
          "no authkey: give --authkey-file or MPROC_AUTHKEY, or copy the "
          "manager's key to ",
          DefaultAuthkeyPath(), " (or --no-auth for a manager without one)"));
    }
    options.authkey = *key;
  }
  return options;
}

}  // namespace mproc
