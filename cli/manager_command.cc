// `mproc manager`: runs the manager daemon until SIGINT or SIGTERM.
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "cli/command_line.h"
#include "cli/manager_start.h"
#include "client/manager.h"
#include "common/authkey_file.h"
#include "common/log.h"
#include "server/rpc/manager_server.h"

namespace mproc {
namespace cli {

namespace {
constexpr char kManagerUsage[] =
    R"(usage: mproc manager [--listen ADDR] [--authkey-file F | --no-auth]
                     [--tls-cert F --tls-key K [--tls-client-ca F]]
                     [--insecure-plaintext] [--max-message-bytes N]
                     [--max-unsent-bytes N] [--max-object-bytes N]
                     [--session-lease S] [--result-ttl S] [--task-records N]
                     [--threads N] [--poll-spin-us N] [--data-dir DIR [--fsync always|everysec|no] [--repair]]

Runs the manager daemon in the foreground until SIGINT or SIGTERM.
  --listen ADDR            HOST:PORT or unix:/path (default 127.0.0.1:50051;
                           port 0 picks a free port). An address other
                           machines can reach needs TLS (--tls-cert) or
                           --insecure-plaintext
  --authkey-file F         file holding the authkey (any bytes; mode 0600),
                           else $MPROC_AUTHKEY, else this user's default key
                           ~/.config/mproc/authkey, made on first use.
                           Clients prove they hold the same key, and the
                           manager proves it to them; it is never sent
  --acl-file F             named keys and certificate names, each with roles
                           (admin, client, worker, exec) and an object-name
                           pattern, instead of one key (mproc acl add)
  --no-auth                no authentication (loopback or unix socket only,
                           or with --tls-client-ca)
  --tls-cert F --tls-key K serve TLS with this certificate (chain) and key
                           (mode 0600); renewed files are picked up within
                           5 s (mproc certs create makes a set)
  --tls-client-ca F        mutual TLS: clients must present a certificate
                           this CA signed
  --insecure-plaintext     allow a non-loopback address without TLS
  --metrics-listen H:P     serve Prometheus metrics at http://H:P/metrics
                           (loopback only; with a key, behind HTTP basic
                           auth with the password mproc metrics-token prints)
  --max-message-bytes N    reject larger requests, and answers that would be
                           larger (default 64 MiB)
  --max-unsent-bytes N     per client: stop reading its requests while this
                           many bytes of answers wait for it to read
                           (default 64 MiB)
  --max-object-bytes N     refuse to create an object larger than this, such
                           as an Array (default 1 GiB)
  --session-lease S        seconds a client's session (its locks and permits)
                           outlives its connection, so a reconnect keeps
                           them; a crashed client's are freed after it
                           (default 10)
  --result-ttl S           seconds a pool keeps task results its client
                           did not read after the client went away, and
                           the records of finished tasks (default 600)
  --task-records N         finished task records a pool keeps for `mproc
                           tasks` within that TTL, the newest (default
                           10000)
  --threads N              threads serving clients and running commands
                           (default 1: no hand-offs, lowest latency; more
                           let commands run in parallel on many cores)
  --poll-spin-us N         after each request a thread polls on, yielding
                           its core to anything runnable, for N µs before
                           it sleeps (default 50; at most N µs of CPU per
                           request; 0: sleep at once, for a host where the
                           manager must not use a core beyond its work)
  --data-dir DIR           keep every object and task in DIR (created if its
                           parent exists) across restarts and crashes;
                           without it the manager keeps them in memory only
  --fsync POLICY           when DIR's log reaches the disk: always (before
                           answering; slowest, safest), everysec (within a
                           second; the default) or no (when the OS decides).
                           Under every policy a killed manager loses nothing
                           it acknowledged; power loss may lose the last
                           second with everysec
  --repair                 rebuild a damaged DIR, keeping what can be read,
                           instead of refusing to start
  --exit-with-stdin        stop when stdin reaches end of file (a private
                           manager whose owner holds the other end)
Prints "mproc manager listening on ADDR" once it accepts connections, then
where its objects live and what it loaded.
)";
}  // namespace

absl::StatusOr<ManagerServerOptions> ManagerOptionsFromFlags(
    const CommandLine& cl) {
  ManagerServerOptions options;
  options.listen = cl.Flag("listen").value_or(options.listen);
  options.no_auth = cl.Flag("no-auth").value_or("false") == "true";
  options.insecure_plaintext =
      cl.Flag("insecure-plaintext").value_or("false") == "true";
  options.tls_cert = cl.Flag("tls-cert").value_or("");
  options.tls_key = cl.Flag("tls-key").value_or("");
  options.tls_client_ca = cl.Flag("tls-client-ca").value_or("");
  const std::optional<std::string> key_file = cl.Flag("authkey-file");
  const char* env_key = std::getenv("MPROC_AUTHKEY");
  const bool env_has_key = env_key != nullptr && *env_key != '\0';
  if (options.no_auth && (key_file || env_has_key)) {
    return absl::InvalidArgumentError(
        key_file ? "--no-auth and --authkey-file exclude each other"
                 : "--no-auth and MPROC_AUTHKEY exclude each other (unset "
                   "MPROC_AUTHKEY)");
  }
  options.metrics_listen = cl.Flag("metrics-listen").value_or("");
  if (auto ms = cl.Flag("slow-op-ms")) {
    double v = 0;
    if (!absl::SimpleAtod(*ms, &v) || !(v >= 0)) {
      return absl::InvalidArgumentError(
          "--slow-op-ms must be a number of milliseconds >= 0");
    }
    options.slow_op = absl::Milliseconds(v);
  }
  options.acl_file = cl.Flag("acl-file").value_or("");
  if (!options.acl_file.empty()) {
    // Its keys are the only ones.
    if (key_file || options.no_auth) {
      return absl::InvalidArgumentError(
          "--acl-file excludes --authkey-file and --no-auth");
    }
  } else if (key_file || env_has_key) {
    absl::StatusOr<std::string> key = LoadAuthkey(key_file.value_or(""));
    if (!key.ok()) return key.status();
    options.authkey = *key;
  }
  if (auto lease = cl.Flag("session-lease")) {
    double seconds;
    if (!absl::SimpleAtod(*lease, &seconds) || !(seconds >= 1)) {
      return absl::InvalidArgumentError(
          "--session-lease must be a number of seconds >= 1");
    }
    options.session_lease = absl::Seconds(seconds);
  }
  if (auto ttl = cl.Flag("result-ttl")) {
    double seconds;
    if (!absl::SimpleAtod(*ttl, &seconds) || !(seconds > 0)) {
      return absl::InvalidArgumentError(
          "--result-ttl must be a number of seconds > 0");
    }
    options.result_ttl = absl::Seconds(seconds);
  }
  if (auto records = cl.Flag("task-records")) {
    if (!absl::SimpleAtoi(*records, &options.task_records) ||
        options.task_records < 1) {
      return absl::InvalidArgumentError(
          "--task-records must be an integer >= 1");
    }
  }
  if (auto spin = cl.Flag("poll-spin-us")) {
    int64_t us = 0;
    if (!absl::SimpleAtoi(*spin, &us) || us < 0 || us > 10000) {
      return absl::InvalidArgumentError(
          "--poll-spin-us must be an integer from 0 to 10000 (microseconds)");
    }
    options.poll_spin = absl::Microseconds(us);
  }
  if (auto threads = cl.Flag("threads")) {
    if (!absl::SimpleAtoi(*threads, &options.threads) || options.threads < 1 ||
        options.threads > 256) {
      return absl::InvalidArgumentError(
          "--threads must be an integer from 1 to 256");
    }
  }
  struct ByteFlag {
    const char* name;
    int64_t* value;
  };
  for (const ByteFlag& flag :
       {ByteFlag{"max-message-bytes", &options.max_message_bytes},
        ByteFlag{"max-unsent-bytes", &options.max_unsent_bytes},
        ByteFlag{"max-object-bytes", &options.max_object_bytes}}) {
    if (auto limit = cl.Flag(flag.name)) {
      if (!absl::SimpleAtoi(*limit, flag.value) || *flag.value <= 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("--", flag.name, " must be a positive integer"));
      }
    }
  }
  if (auto dir = cl.Flag("data-dir")) {
    if (dir->empty()) {
      return absl::InvalidArgumentError("--data-dir needs a directory");
    }
    options.data_dir = *dir;
  }
  if (auto fsync = cl.Flag("fsync")) {
    if (*fsync != "always" && *fsync != "everysec" && *fsync != "no") {
      return absl::InvalidArgumentError(
          "--fsync must be always, everysec or no");
    }
    if (options.data_dir.empty()) {
      return absl::InvalidArgumentError("--fsync needs --data-dir");
    }
    options.fsync = *fsync;
  }
  options.repair = cl.Flag("repair").value_or("false") == "true";
  return options;
}

absl::StatusOr<StartedManager> StartManager(const ManagerServerOptions& options,
                                            const std::string& key_file) {
  // absl's lock-order checking costs a graph lookup on every lock; the
  // manager takes a lock on every operation.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);

  // A file-size limit reached (ulimit -f) fails the write with EFBIG, which
  // the data dir reports like a full disk, instead of killing the manager.
  signal(SIGXFSZ, SIG_IGN);
  StartedManager started;
  // Blocked before gRPC starts its threads, so that the signals reach only
  // the caller's sigwait.
  sigemptyset(&started.stop_signals);
  sigaddset(&started.stop_signals, SIGINT);
  sigaddset(&started.stop_signals, SIGTERM);
  // SIGHUP (a reload request elsewhere) must not end the manager.
  sigaddset(&started.stop_signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &started.stop_signals, nullptr);
  ManagerServerOptions with_key = options;
  if (!with_key.acl_file.empty()) {
    started.key_origin = absl::StrCat("keys of ACL ", with_key.acl_file);
  } else if (with_key.authkey.empty() && !with_key.no_auth) {
    // No key given: this user's default one, made on first use.
    const std::string path = DefaultAuthkeyPath();
    bool created = false;
    absl::StatusOr<std::string> key = LoadOrCreateAuthkeyFile(path, &created);
    if (!key.ok()) return key.status();
    with_key.authkey = *std::move(key);
    started.key_origin = absl::StrCat(path, created ? " (made now)" : "");
    started.key_file = path;
  } else if (!with_key.authkey.empty()) {
    started.key_file = key_file;
    started.key_origin = key_file.empty() ? "$MPROC_AUTHKEY" : key_file;
  }
  absl::StatusOr<std::unique_ptr<ManagerServer>> server =
      ManagerServer::Start(with_key);
  if (!server.ok()) return server.status();
  started.server = *std::move(server);
  started.authkey = with_key.authkey;
  started.no_auth = with_key.no_auth;
  started.unix_socket = absl::StartsWith(with_key.listen, "unix:");
  started.tls = !with_key.tls_cert.empty();
  started.mutual_tls = !with_key.tls_client_ca.empty();
  return started;
}

absl::StatusOr<StartedManager> StartManagerFromFlags(const CommandLine& cl,
                                                     int* exit_code) {
  absl::StatusOr<ManagerServerOptions> options = ManagerOptionsFromFlags(cl);
  absl::StatusOr<StartedManager> started =
      options.ok()
          ? StartManager(*options, cl.Flag("authkey-file").value_or(""))
          : absl::StatusOr<StartedManager>(options.status());
  if (!started.ok()) {
    // A bad flag or a data dir the manager cannot use is the caller's to
    // fix: exit 2.
    const bool usage =
        (!options.ok() &&
         options.status().code() == absl::StatusCode::kInvalidArgument) ||
        IsDataDirError(started.status());
    *exit_code = Fail(usage ? kExitUsage : kExitFailed,
                      std::string(started.status().message()));
  }
  return started;
}

std::string DescribeManager(const StartedManager& started) {
  return absl::StrCat(
      "listening on ", started.server->address(), " (instance ",
      started.server->instance_id(),
      started.no_auth
          ? ", no authentication"
          : absl::StrCat(", authkey required: ", started.key_origin),
      started.tls ? (started.mutual_tls ? ", mutual TLS" : ", TLS") : "", ")");
}

std::string DescribeMetrics(const StartedManager& started) {
  const std::string& url = started.server->metrics_url();
  if (url.empty()) return "";
  return absl::StrCat(
      "mproc: metrics on ", url,
      started.authkey.empty()
          ? " (WARNING: no password without a key: every local user can "
            "read them; no dashboard)"
          : absl::StrCat(" (HTTP basic auth, any user; the password is what "
                         "`mproc metrics-token` prints)\nmproc: dashboard on ",
                         url.substr(0, url.rfind('/')),
                         "/ (log in with what `mproc metrics-token "
                         "--dashboard` prints)"),
      "\n");
}

void NoteReload(const StartedManager& started) {
  std::cout << "mproc: SIGHUP: "
            << (started.tls
                    ? absl::StrCat("the TLS files are watched; changes are "
                                   "used within ",
                                   absl::FormatDuration(kCertificateRefresh))
                    : std::string("nothing to reload"))
            << std::endl;
}

void WarnIfNoAuth(const StartedManager& started) {
  if (!started.no_auth) return;
  std::cerr << "mproc: WARNING: running without authentication (--no-auth): "
            << (started.unix_socket
                    ? "any process of this user can use this manager"
                    : "every user of this machine can use this manager, "
                      "and run commands on its workers")
            << std::endl;
}

int RunManagerCommand(const CommandLine& cl) {
  if (cl.help) {
    std::cout << kManagerUsage;
    return kExitOk;
  }
  if (cl.positional.size() > 1) {
    return Fail(kExitUsage, "manager takes no positional arguments");
  }
  int exit_code = kExitOk;
  absl::StatusOr<StartedManager> started =
      StartManagerFromFlags(cl, &exit_code);
  if (!started.ok()) return exit_code;
  WarnIfNoAuth(*started);
  std::cout << "mproc manager " << DescribeManager(*started) << "\n"
            << "mproc manager: objects " << started->server->storage_summary()
            << "\n"
            << DescribeMetrics(*started) << std::flush;
  // After the banner, which tools read up to its "listening on" line.
  Log(LogLevel::kInfo, "started", DescribeManager(*started),
      {{"address", started->server->address()}});
  Log(LogLevel::kInfo, "storage", started->server->storage_summary());
  if (cl.Flag("exit-with-stdin")) {
    // Its owner holds the other end of our stdin: when the owner is gone
    // (however it died), the pipe reads end of file and we stop.
    std::thread([] {
      char buf[256];
      while (true) {
        const ssize_t n = read(0, buf, sizeof buf);
        if (n == 0 || (n < 0 && errno != EINTR)) break;
      }
      kill(getpid(), SIGTERM);
    }).detach();
  }
  int signal_number = 0;
  while (sigwait(&started->stop_signals, &signal_number) == 0 &&
         signal_number == SIGHUP) {
    NoteReload(*started);
  }
  std::cout << "mproc manager: stopping on signal " << signal_number
            << std::endl;
  Log(LogLevel::kInfo, "shutting_down",
      absl::StrCat("stopping on signal ", signal_number),
      {{"signal", static_cast<int64_t>(signal_number)}});
  started->server->Shutdown();
  Log(LogLevel::kInfo, "stopped", "the manager has stopped");
  return kExitOk;
}

}  // namespace cli
}  // namespace mproc
