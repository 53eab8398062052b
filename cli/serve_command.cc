// `mproc serve`: the pre-fork server (worker/process/prefork_server.h) with
// its one built-in handler, echo — the seed's concurrent server, useful to
// test connectivity and to measure a host's socket floor.
#include "cli/serve_command.h"

#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "worker/process/prefork_server.h"

namespace mproc {
namespace cli {
namespace {

constexpr char kServeUsage[] =
    R"(usage: mproc serve --echo [--listen ADDR] [--processes N] [--threads M]
                   [--max-connections C] [--idle-timeout S] [--grace S]
                   [--recycle-after K]

Runs a pre-forked server in the foreground: N processes (default: the CPUs)
accept on one socket, each serving all its connections on one event loop,
or, with --threads M, up to M connections at once on a thread pool (the
seed's design). --echo sends every byte back (the only built-in handler).

  --listen ADDR         HOST:PORT or unix:/path (default 127.0.0.1:8888)
  --max-connections C   connections a process holds at once (default 1024)
  --idle-timeout S      close a connection silent this long (default 60)
  --grace S             time open connections get at SIGTERM (default 30)
  --recycle-after K     replace a process after K connections (default 0:
                        never)

SIGTERM or SIGINT stops it gracefully (a second one kills); SIGHUP starts
new processes and lets the old ones drain; a process that dies is replaced.
)";

bool ParseSeconds(const std::string& text, absl::Duration* out) {
  double seconds = 0;
  if (!absl::SimpleAtod(text, &seconds) || !(seconds >= 0) || seconds > 1e9) {
    return false;
  }
  *out = absl::Seconds(seconds);
  return true;
}

}  // namespace

int ServeMain(int argc, char** argv) {
  PreforkOptions options;
  options.listen = "127.0.0.1:8888";
  bool echo = false;
  bool threads = false;
  std::vector<std::string> args(argv + 1, argv + argc);
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& flag = args[i];
    if (flag == "--help" || flag == "-h") {
      std::cout << kServeUsage;
      return 0;
    }
    if (flag == "--echo") {
      echo = true;
      continue;
    }
    if (i + 1 >= args.size()) {
      std::cerr << "mproc serve: " << flag
                << (absl::StartsWith(flag, "--") ? " needs a value"
                                                 : ": unexpected argument")
                << " (see mproc serve --help)" << std::endl;
      return 2;
    }
    const std::string& value = args[++i];
    bool ok = true;
    if (flag == "--listen") {
      options.listen = value;
    } else if (flag == "--processes") {
      ok =
          absl::SimpleAtoi(value, &options.processes) && options.processes >= 1;
    } else if (flag == "--threads") {
      ok = absl::SimpleAtoi(value, &options.threads) && options.threads >= 1;
      threads = true;
    } else if (flag == "--max-connections") {
      ok = absl::SimpleAtoi(value, &options.max_connections) &&
           options.max_connections >= 1;
    } else if (flag == "--recycle-after") {
      ok = absl::SimpleAtoi(value, &options.recycle_after) &&
           options.recycle_after >= 0;
    } else if (flag == "--idle-timeout") {
      ok = ParseSeconds(value, &options.idle_timeout) &&
           options.idle_timeout > absl::ZeroDuration();
    } else if (flag == "--grace") {
      ok = ParseSeconds(value, &options.grace);
    } else {
      std::cerr << "mproc serve: unknown flag " << flag
                << " (see mproc serve --help)" << std::endl;
      return 2;
    }
    if (!ok) {
      std::cerr << "mproc serve: bad value '" << value << "' for " << flag
                << " (see mproc serve --help)" << std::endl;
      return 2;
    }
  }
  if (!echo) {
    std::cerr << "mproc serve: say which handler to run: --echo is the "
                 "built-in one (see mproc serve --help)"
              << std::endl;
    return 2;
  }
  absl::StatusOr<std::unique_ptr<PreforkServer>> server =
      threads ? PreforkServer::Listen(options, EchoHandler)
              : PreforkServer::Listen(options, EchoData);
  if (!server.ok()) {
    std::cerr << "mproc serve: " << server.status().message() << std::endl;
    return 1;
  }
  return (*server)->Run();
}

}  // namespace cli
}  // namespace mproc
