#include "common/authkey_file.h"

#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/auth_proof.h"

namespace mproc {
namespace {

constexpr off_t kMaxKeyBytes = 64 << 10;

std::string HomeDir() {
  if (const char* home = std::getenv("HOME"); home != nullptr && *home) {
    return home;
  }
  if (const passwd* pw = getpwuid(getuid()); pw != nullptr && pw->pw_dir) {
    return pw->pw_dir;
  }
  return ".";
}

absl::Status FileError(const std::string& path, absl::string_view problem) {
  return absl::PermissionDeniedError(
      absl::StrCat("authkey file ", path, " ", problem));
}

// Makes `dir` and its missing parents, the last one 0700.
absl::Status MakeDirs(const std::string& dir) {
  struct stat st;
  if (::stat(dir.c_str(), &st) == 0) return absl::OkStatus();
  const size_t slash = dir.rfind('/');
  if (slash != std::string::npos && slash > 0) {
    absl::Status parent = MakeDirs(dir.substr(0, slash));
    if (!parent.ok()) return parent;
  }
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return absl::PermissionDeniedError(absl::StrCat(
        "cannot create ", dir, " for the authkey: ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

}  // namespace

std::string DefaultAuthkeyPath() {
  if (const char* xdg = std::getenv("XDG_CONFIG_HOME");
      xdg != nullptr && *xdg) {
    return absl::StrCat(xdg, "/mproc/authkey");
  }
  return absl::StrCat(HomeDir(), "/.config/mproc/authkey");
}

namespace {

absl::StatusOr<std::string> ReadFile(const std::string& path,
                                     absl::string_view what, bool secret) {
  // Non-blocking: a FIFO in the key's place must not hang the caller (it
  // is refused below, not being a regular file).
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    if (errno == ENOENT) {
      return absl::NotFoundError(
          absl::StrCat(what, " ", path, " does not exist"));
    }
    return absl::PermissionDeniedError(absl::StrCat(
        what, " ", path, " cannot be read: ", std::strerror(errno)));
  }
  struct stat st;
  std::string contents;
  absl::Status status;
  if (::fstat(fd, &st) != 0) {
    status = absl::PermissionDeniedError(
        absl::StrCat(what, " ", path, ": ", std::strerror(errno)));
  } else if (!S_ISREG(st.st_mode)) {
    status = absl::InvalidArgumentError(
        absl::StrCat(what, " ", path, " is not a regular file"));
  } else if (!secret && (st.st_mode & 022) != 0) {
    // What it says is trusted (a CA): others must not be able to change it.
    status = absl::PermissionDeniedError(absl::StrFormat(
        "%s %s may be changed by other users (mode %04o); run: chmod go-w %s",
        what, path, st.st_mode & 07777, path));
  } else if (secret && (st.st_mode & 077) != 0) {
    status = absl::PermissionDeniedError(absl::StrFormat(
        "%s %s may be read or changed by other users (mode %04o); run: "
        "chmod 600 %s",
        what, path, st.st_mode & 07777, path));
  } else if (st.st_size > kMaxKeyBytes) {
    status = absl::InvalidArgumentError(
        absl::StrCat(what, " ", path, " is over ", kMaxKeyBytes, " bytes"));
  } else {
    contents.resize(static_cast<size_t>(st.st_size));
    size_t got = 0;
    while (got < contents.size()) {
      const ssize_t n =
          ::read(fd, contents.data() + got, contents.size() - got);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      got += static_cast<size_t>(n);
    }
    contents.resize(got);
  }
  ::close(fd);
  if (!status.ok()) return status;
  if (contents.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " ", path, " is empty"));
  }
  return contents;
}

}  // namespace

absl::StatusOr<std::string> ReadPrivateFile(const std::string& path,
                                            absl::string_view what) {
  return ReadFile(path, what, /*secret=*/true);
}

absl::StatusOr<std::string> ReadPublicFile(const std::string& path,
                                           absl::string_view what) {
  return ReadFile(path, what, /*secret=*/false);
}

absl::StatusOr<std::string> ReadAuthkeyFile(const std::string& path) {
  absl::StatusOr<std::string> key = ReadPrivateFile(path, "authkey file");
  if (!key.ok()) return key;
  if (!key->empty() && key->back() == '\n') key->pop_back();
  if (!key->empty() && key->back() == '\r') key->pop_back();
  if (key->empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("authkey file ", path, " is empty"));
  }
  return key;
}

absl::StatusOr<std::string> LoadOrCreateAuthkeyFile(const std::string& path,
                                                    bool* created) {
  *created = false;
  absl::StatusOr<std::string> existing = ReadAuthkeyFile(path);
  if (!absl::IsNotFound(existing.status())) return existing;
  const size_t slash = path.rfind('/');
  if (slash != std::string::npos && slash > 0) {
    absl::Status dir = MakeDirs(path.substr(0, slash));
    if (!dir.ok()) return dir;
  }
  // Written under a private name, then linked into place: a reader never
  // sees half a key, and of two managers racing, the second link fails and
  // that manager reads the first one's key.
  const std::string key = absl::BytesToHexString(RandomBytes(32));
  const std::string temp = absl::StrCat(path, ".", getpid(), ".",
                                        absl::BytesToHexString(RandomBytes(4)));
  const int fd =
      ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    return FileError(path,
                     absl::StrCat("cannot be created: ", std::strerror(errno)));
  }
  const std::string contents = key + "\n";
  const bool written = ::write(fd, contents.data(), contents.size()) ==
                           static_cast<ssize_t>(contents.size()) &&
                       ::fsync(fd) == 0;
  ::close(fd);
  const bool linked = written && ::link(temp.c_str(), path.c_str()) == 0;
  const int link_errno = errno;
  ::unlink(temp.c_str());
  if (linked) {
    *created = true;
    return key;
  }
  if (written && link_errno == EEXIST) return ReadAuthkeyFile(path);
  return FileError(
      path, absl::StrCat("cannot be created: ", std::strerror(link_errno)));
}

}  // namespace mproc
