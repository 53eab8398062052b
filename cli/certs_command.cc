// `mproc certs create DIR --host NAME[,NAME...]`: a CA, a server
// certificate for those names and a client certificate, made with the
// openssl tool (no crypto of our own). Keys are written 0600.
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "cli/command_line.h"
#include "common/auth_proof.h"
#include "worker/process/subprocess.h"

namespace mproc {
namespace cli {
namespace {

constexpr char kCertsUsage[] =
    R"(usage: mproc certs create DIR [--host NAME[,NAME...]] [--client-name CN]
                         [--days N]

Makes DIR (which must not hold certificates yet) with:
  ca.crt, ca.key          a certificate authority (keep ca.key offline)
  server.crt, server.key  the manager's certificate, for the --host names
                          and addresses (default: localhost,127.0.0.1)
  client.crt, client.key  a client certificate (CN: --client-name, default
                          mproc-client) for mutual TLS
Keys are P-256, mode 0600; certificates are valid for --days (default 825).
Then: mproc manager --tls-cert DIR/server.crt --tls-key DIR/server.key
      [--tls-client-ca DIR/ca.crt], and clients --tls-ca DIR/ca.crt
      [--tls-cert DIR/client.crt --tls-key DIR/client.key].
)";

bool IsAddress(const std::string& host) {
  return !host.empty() &&
         (host.find(':') != std::string::npos ||
          host.find_first_not_of("0123456789.") == std::string::npos);
}

// Runs the openssl tool; its stderr in the error.
absl::Status OpenSsl(std::vector<std::string> args) {
  args.insert(args.begin(), "openssl");
  RunOptions options;
  options.timeout = absl::Seconds(60);
  absl::StatusOr<CompletedProcess> run = Run(args, options);
  if (!run.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot run the openssl tool (Debian package openssl): ",
                     run.status().message()));
  }
  if (run->returncode != 0) {
    return absl::InternalError(
        absl::StrCat("openssl ", args[1], " failed: ", run->err));
  }
  return absl::OkStatus();
}

absl::Status WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
  return out ? absl::OkStatus()
             : absl::PermissionDeniedError(absl::StrCat("cannot write ", path));
}

// A key and a certificate signed by the CA in `dir`, with `extensions`.
absl::Status Issue(const std::string& dir, const std::string& name,
                   const std::string& subject, const std::string& extensions,
                   const std::string& days) {
  const std::string key = absl::StrCat(dir, "/", name, ".key");
  const std::string csr = absl::StrCat(dir, "/", name, ".csr");
  const std::string ext = absl::StrCat(dir, "/", name, ".ext");
  absl::Status s = OpenSsl({"req", "-new", "-newkey", "ec", "-pkeyopt",
                            "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
                            key, "-out", csr, "-subj", subject});
  if (s.ok()) s = WriteFile(ext, extensions);
  if (s.ok()) {
    s = OpenSsl({"x509", "-req", "-in", csr, "-CA", dir + "/ca.crt", "-CAkey",
                 dir + "/ca.key", "-set_serial",
                 "0x" + absl::BytesToHexString(RandomBytes(16)), "-days", days,
                 "-extfile", ext, "-out",
                 absl::StrCat(dir, "/", name, ".crt")});
  }
  std::filesystem::remove(csr);
  std::filesystem::remove(ext);
  chmod(key.c_str(), 0600);
  return s;
}

absl::Status CreateCertificates(const std::string& dir,
                                const std::vector<std::string>& hosts,
                                const std::string& client_name,
                                const std::string& days) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot create ", dir, ": ", ec.message()));
  }
  for (const char* file : {"ca.key", "server.key", "client.key"}) {
    if (std::filesystem::exists(absl::StrCat(dir, "/", file))) {
      return absl::AlreadyExistsError(
          absl::StrCat(dir, " already holds ", file,
                       "; certs create never overwrites keys"));
    }
  }
  // Private keys are born private.
  const mode_t old_mask = umask(077);
  absl::Status s = OpenSsl({"req", "-x509", "-newkey", "ec", "-pkeyopt",
                            "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
                            dir + "/ca.key", "-out", dir + "/ca.crt", "-days",
                            "3650", "-subj", "/CN=mproc CA", "-addext",
                            "basicConstraints=critical,CA:TRUE", "-addext",
                            "keyUsage=critical,keyCertSign,cRLSign"});
  std::vector<std::string> names;
  for (const std::string& host : hosts) {
    names.push_back(absl::StrCat(IsAddress(host) ? "IP:" : "DNS:", host));
  }
  const std::string common =
      "basicConstraints=CA:FALSE\n"
      "keyUsage=critical,digitalSignature\n";
  if (s.ok()) {
    s = Issue(dir, "server", "/CN=" + hosts.front(),
              absl::StrCat(common, "extendedKeyUsage=serverAuth\n",
                           "subjectAltName=", absl::StrJoin(names, ","), "\n"),
              days);
  }
  if (s.ok()) {
    s = Issue(dir, "client", "/CN=" + client_name,
              absl::StrCat(common, "extendedKeyUsage=clientAuth\n"), days);
  }
  umask(old_mask);
  for (const char* cert : {"ca.crt", "server.crt", "client.crt"}) {
    chmod(absl::StrCat(dir, "/", cert).c_str(), 0644);
  }
  return s;
}

}  // namespace

int RunCertsCommand(const CommandLine& cl) {
  if (cl.help) {
    std::cout << kCertsUsage;
    return kExitOk;
  }
  if (cl.positional.size() != 3 || cl.positional[1] != "create") {
    return Fail(kExitUsage, "usage: mproc certs create DIR [--host NAMES]");
  }
  std::vector<std::string> hosts =
      absl::StrSplit(cl.Flag("host").value_or("localhost,127.0.0.1"), ',',
                     absl::SkipWhitespace());
  if (hosts.empty()) return Fail(kExitUsage, "--host needs a name");
  for (const std::string& host : hosts) {
    if (host.find_first_of("/=\n\"'") != std::string::npos) {
      return Fail(kExitUsage, absl::StrCat("--host: '", host,
                                           "' is not a host name or address"));
    }
  }
  const std::string client_name =
      cl.Flag("client-name").value_or("mproc-client");
  if (client_name.empty() ||
      client_name.find_first_of("/=\n") != std::string::npos) {
    return Fail(kExitUsage, "--client-name must be a plain name");
  }
  const std::string days = cl.Flag("days").value_or("825");
  if (days.empty() ||
      days.find_first_not_of("0123456789") != std::string::npos) {
    return Fail(kExitUsage, "--days must be a positive integer");
  }
  const std::string& dir = cl.positional[2];
  absl::Status made = CreateCertificates(dir, hosts, client_name, days);
  if (!made.ok()) return FailStatus(made);
  std::cout << "mproc certs: made " << dir << "/{ca,server,client}.{crt,key} "
            << "for " << absl::StrJoin(hosts, ", ") << std::endl;
  return kExitOk;
}

}  // namespace cli
}  // namespace mproc
