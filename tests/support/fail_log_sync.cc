// Preloaded into a manager by tests (LD_PRELOAD): fdatasync and fsync of
// the manager's log segments (journal-*.mlog) fail with EIO while the file
// named by $MPROC_FAIL_LOG_SYNC_WHILE exists, as on a disk that lost a
// write. Every other call goes to the C library.
#include <dlfcn.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {

bool ShouldFail(int fd) {
  const char* trigger = std::getenv("MPROC_FAIL_LOG_SYNC_WHILE");
  if (trigger == nullptr || ::access(trigger, F_OK) != 0) return false;
  char link[64];
  char path[4096];
  std::snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
  const ssize_t n = ::readlink(link, path, sizeof(path) - 1);
  if (n < 5) return false;
  path[n] = '\0';
  return std::strcmp(path + n - 5, ".mlog") == 0;
}

template <typename F>
F Next(const char* name) {
  return reinterpret_cast<F>(::dlsym(RTLD_NEXT, name));
}

}  // namespace

extern "C" int fdatasync(int fd) {
  static const auto real = Next<int (*)(int)>("fdatasync");
  if (ShouldFail(fd)) {
    errno = EIO;
    return -1;
  }
  return real(fd);
}

extern "C" int fsync(int fd) {
  static const auto real = Next<int (*)(int)>("fsync");
  if (ShouldFail(fd)) {
    errno = EIO;
    return -1;
  }
  return real(fd);
}
