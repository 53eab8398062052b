// `mproc acl add FILE NAME --roles R [--pattern P] --key-file OUT`: a new
// random key for user NAME in OUT (0600), and its line — the key's hashes,
// never the key — appended to the ACL file FILE (made 0600 if missing).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "cli/command_line.h"
#include "common/auth_proof.h"
#include "server/access.h"
#include "server/rpc/acl_file.h"

namespace mproc {
namespace cli {
namespace {

constexpr char kAclUsage[] =
    R"(usage: mproc acl add FILE NAME --roles ROLES [--pattern GLOB] --key-file OUT

Makes a random key for user NAME, writes it to OUT (mode 0600; it must not
exist), and appends NAME's line to the ACL file FILE (made 0600 if missing)
for mproc manager --acl-file FILE. ROLES: a comma-separated subset of
admin (everything), client (objects and tasks), worker (take and finish
tasks), exec (submit commands); GLOB limits the object names (default all).
The user then connects with --user NAME --authkey-file OUT. A certificate
name is added by hand: a line "cert COMMON_NAME ROLES [GLOB]".
)";

// Creates `path` with `text`, mode 0600; fails if it exists (O_EXCL) unless
// `append`.
absl::Status WritePrivate(const std::string& path, const std::string& text,
                          bool append) {
  const int flags =
      O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_EXCL);
  const int fd = ::open(path.c_str(), flags, 0600);
  if (fd < 0) {
    return errno == EEXIST
               ? absl::AlreadyExistsError(
                     absl::StrCat(path, " exists; acl add makes a new key"))
               : absl::PermissionDeniedError(absl::StrCat(
                     "cannot write ", path, ": ", std::strerror(errno)));
  }
  // An ACL file others may read gives away its hashes: refuse to add to
  // one; and start on a line of our own.
  struct stat st;
  if (::fstat(fd, &st) != 0 || (st.st_mode & 077) != 0 ||
      st.st_uid != geteuid()) {
    ::close(fd);
    return absl::PermissionDeniedError(absl::StrCat(
        path, " must be this user's and private (chmod 600 ", path, ")"));
  }
  std::string out = text;
  if (append && st.st_size > 0) {
    char last = '\n';
    if (::pread(fd, &last, 1, st.st_size - 1) == 1 && last != '\n') {
      out.insert(out.begin(), '\n');
    }
  }
  const bool ok =
      ::write(fd, out.data(), out.size()) == static_cast<ssize_t>(out.size());
  ::close(fd);
  return ok ? absl::OkStatus()
            : absl::PermissionDeniedError(absl::StrCat("cannot write ", path));
}

}  // namespace

int RunAclCommand(const CommandLine& cl) {
  if (cl.help) {
    std::cout << kAclUsage;
    return kExitOk;
  }
  if (cl.positional.size() != 4 || cl.positional[1] != "add") {
    return Fail(kExitUsage,
                "usage: mproc acl add FILE NAME --roles R "
                "--key-file OUT (mproc acl --help)");
  }
  const std::string& file = cl.positional[2];
  const std::string& name = cl.positional[3];
  if (name.empty() || name.find_first_of(" \t\r\n#:") != std::string::npos) {
    return Fail(kExitUsage,
                absl::StrCat("acl: user name '", name, "' must be one word"));
  }
  absl::StatusOr<uint32_t> roles = ParseRoles(cl.Flag("roles").value_or(""));
  if (!roles.ok()) {
    return Fail(kExitUsage,
                absl::StrCat("acl: --roles: ", roles.status().message()));
  }
  const std::string pattern = cl.Flag("pattern").value_or("");
  if (pattern.find_first_of(" \t\r\n#") != std::string::npos) {
    return Fail(kExitUsage, "acl: --pattern must be one word");
  }
  const std::optional<std::string> key_file = cl.Flag("key-file");
  if (!key_file || key_file->empty()) {
    return Fail(kExitUsage, "acl: --key-file OUT is where the new key goes");
  }
  const std::string key = absl::BytesToHexString(RandomBytes(32));
  if (absl::Status s = WritePrivate(*key_file, key + "\n", /*append=*/false);
      !s.ok()) {
    return FailStatus(s);
  }
  const std::string line = AclUserLine(name, key, *roles, pattern) + "\n";
  if (absl::Status s = WritePrivate(file, line, /*append=*/true); !s.ok()) {
    ::unlink(key_file->c_str());
    return FailStatus(s);
  }
  std::cout << "mproc acl: user " << name << " (" << RoleNames(*roles)
            << (pattern.empty() ? "" : ", objects " + pattern) << ") in "
            << file << "; key in " << *key_file << std::endl;
  return kExitOk;
}

}  // namespace cli
}  // namespace mproc
