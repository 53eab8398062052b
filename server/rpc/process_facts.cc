#include "server/rpc/process_facts.h"

#include <dirent.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

namespace mproc {

void ProcessFacts(double* cpu_seconds, double* rss_bytes, double* fds) {
  *cpu_seconds = *rss_bytes = *fds = 0;
  if (FILE* stat = std::fopen("/proc/self/stat", "r")) {
    unsigned long utime = 0, stime = 0;
    // Fields 14 and 15, after the command in parentheses.
    if (std::fscanf(stat,
                    "%*d (%*[^)]) %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
                    "%lu %lu",
                    &utime, &stime) == 2) {
      *cpu_seconds = static_cast<double>(utime + stime) / sysconf(_SC_CLK_TCK);
    }
    std::fclose(stat);
  }
  if (FILE* statm = std::fopen("/proc/self/statm", "r")) {
    unsigned long size = 0, resident = 0;
    if (std::fscanf(statm, "%lu %lu", &size, &resident) == 2) {
      *rss_bytes = static_cast<double>(resident) * sysconf(_SC_PAGESIZE);
    }
    std::fclose(statm);
  }
  if (DIR* dir = opendir("/proc/self/fd")) {
    int n = 0;
    while (readdir(dir) != nullptr) ++n;
    closedir(dir);
    *fds = n - 3;  // ".", ".." and the directory's own descriptor
  }
}

PeerState ReadPeerState(pid_t pid) {
  PeerState state;
  // Gone is decided by the kernel, not by whether /proc shows it (hidepid,
  // ProtectProc= hide other users' processes): EPERM means it exists.
  state.exists = kill(pid, 0) == 0 || errno != ESRCH;
  if (!state.exists) return state;
  const std::string path = "/proc/" + std::to_string(pid) + "/stat";
  FILE* stat = std::fopen(path.c_str(), "r");
  if (stat == nullptr) return state;  // not visible: no more judgement
  char line[1024];
  const size_t n = std::fread(line, 1, sizeof(line) - 1, stat);
  std::fclose(stat);
  line[n] = '\0';
  // The state follows the command, which may itself hold ") ".
  const char* after_command = std::strrchr(line, ')');
  if (after_command == nullptr || after_command[1] != ' ') return state;
  char code = 0;
  unsigned long utime = 0, stime = 0;
  // State, then fields 4-13, then utime and stime (fields 14 and 15).
  if (std::sscanf(after_command + 2,
                  "%c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &code,
                  &utime, &stime) == 3) {
    // A zombie has exited: only its parent's wait is missing.
    if (code == 'Z' || code == 'X') state.exists = false;
    state.stopped = code == 'T' || code == 't';
    state.cpu_ticks = utime + stime;
  }
  return state;
}

}  // namespace mproc
