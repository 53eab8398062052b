#include "server/rpc/process_facts.h"

#include <dirent.h>
#include <unistd.h>

#include <cstdio>

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

}  // namespace mproc
