// `mproc health`: the manager's gRPC health status, for scripts and
// container probes — exit 0 when it serves, 1 when not, 3 when unreachable.
#include <iostream>

#include "absl/strings/numbers.h"
#include "cli/command_line.h"
#include "client/health.h"
#include "server/rpc/manager_metrics.h"

namespace mproc {
namespace cli {
namespace {

constexpr char kHealthUsage[] =
    R"(usage: mproc [--manager ADDR] [--tls-ca F ...] health [--service NAME]
                    [--timeout S]

Asks the manager's standard gRPC health service (grpc.health.v1, no authkey
needed) and prints SERVING or NOT_SERVING; exits 0 only for SERVING, 1 if
it is not serving or does not know the service, 3 if it cannot be reached
within --timeout (default 5 s). --service mproc.pb.Manager asks about the mproc
service itself; the default "" is the manager as a whole.
)";

}  // namespace

int RunHealthCommand(const CommandLine& cl) {
  if (cl.help) {
    std::cout << kHealthUsage;
    return kExitOk;
  }
  if (cl.positional.size() > 1) {
    return Fail(kExitUsage, "health takes no arguments (mproc health --help)");
  }
  const std::string address = ManagerAddressFromFlags(cl);
  double seconds = 5;
  if (auto t = cl.Flag("timeout");
      t && (!absl::SimpleAtod(*t, &seconds) || !(seconds > 0))) {
    return Fail(kExitUsage, "--timeout must be a number of seconds > 0");
  }
  ConnectOptions options;  // no key: health checks need none
  TlsFromFlags(cl, &options);
  absl::StatusOr<std::string> status =
      CheckHealth(address, options, cl.Flag("service").value_or(""),
                  absl::Seconds(seconds));
  if (!status.ok()) return FailStatus(status.status());
  std::cout << *status << std::endl;
  return *status == "SERVING" ? kExitOk : kExitFailed;
}

int RunMetricsTokenCommand(const CommandLine& cl) {
  if (cl.help) {
    std::cout
        << "usage: mproc [--authkey-file F] metrics-token [--dashboard]\n\n"
           "Prints the password of the manager's /metrics endpoint "
           "(HTTP basic auth,\nany user), derived from the authkey "
           "(default: as clients find it): give\nit to the scraper "
           "instead of the key. With --dashboard: the token of the\n"
           "dashboard's login (it reads every task and may requeue: "
           "the admin's).\n";
    return kExitOk;
  }
  absl::StatusOr<std::string> key =
      LoadAuthkey(cl.Flag("authkey-file").value_or(""));
  if (!key.ok()) return FailStatus(key.status());
  if (key->empty()) return Fail(kExitDenied, "no authkey found");
  std::cout << (cl.Flag("dashboard").has_value() ? DashboardToken(*key)
                                                 : MetricsToken(*key))
            << std::endl;
  return kExitOk;
}

}  // namespace cli
}  // namespace mproc
