#include "tests/support/os_probes.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace mproc {
namespace testing {
namespace {

// Polls a pidfd until it is readable (the process ended) or the timeout.
bool AwaitPidfd(int pidfd, absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  for (;;) {
    pollfd p{pidfd, POLLIN, 0};
    int ms =
        static_cast<int>(absl::ToInt64Milliseconds(deadline - absl::Now()) + 1);
    int n = poll(&p, 1, ms < 0 ? 0 : ms);
    if (n > 0) return true;
    if (n == 0 && absl::Now() >= deadline) return false;
  }
}

// Fields of /proc/<pid>/stat after the command name: state, ppid.
bool ReadStat(const std::string& pid, char* state, pid_t* ppid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/stat"));
  std::string line;
  if (!std::getline(in, line)) return false;
  size_t close = line.rfind(')');
  if (close == std::string::npos) return false;
  std::istringstream rest(line.substr(close + 2));
  return static_cast<bool>(rest >> *state >> *ppid);
}

}  // namespace

bool AwaitChildExitNoReap(pid_t pid, absl::Duration timeout) {
  int fd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (fd < 0) return false;
  bool ended = AwaitPidfd(fd, timeout);
  close(fd);
  if (!ended) return false;
  siginfo_t info{};
  return waitid(P_PID, pid, &info, WEXITED | WNOWAIT | WNOHANG) == 0 &&
         info.si_pid == pid;
}

bool StopProcess(pid_t pid, absl::Duration timeout) {
  if (kill(pid, SIGSTOP) != 0) return false;
  const absl::Time deadline = absl::Now() + timeout;
  do {
    char state = 0;
    pid_t ppid = 0;
    if (ReadStat(std::to_string(pid), &state, &ppid) &&
        (state == 'T' || state == 't')) {
      return true;
    }
    absl::SleepFor(absl::Microseconds(200));
  } while (absl::Now() < deadline);
  return false;
}

bool AwaitProcessGone(pid_t pid, absl::Duration timeout) {
  int fd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (fd < 0) return errno == ESRCH;
  bool ended = AwaitPidfd(fd, timeout);
  close(fd);
  return ended;
}

int64_t ResidentBytes(pid_t pid) {
  std::ifstream statm(absl::StrCat("/proc/", pid, "/statm"));
  int64_t size_pages = 0;
  int64_t resident_pages = 0;
  if (!(statm >> size_pages >> resident_pages)) return -1;
  return resident_pages * sysconf(_SC_PAGESIZE);
}

namespace {

// User and system CPU time in a /proc stat file, in seconds; -1 if it
// cannot be read.
double StatCpuSeconds(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  if (!std::getline(in, line)) return -1;
  const size_t close = line.rfind(')');
  if (close == std::string::npos) return -1;
  // From the state (field 3) on; utime and stime are fields 14 and 15.
  std::istringstream rest(line.substr(close + 2));
  std::string field;
  for (int i = 3; i < 14 && rest >> field; ++i) {
  }
  int64_t utime = 0;
  int64_t stime = 0;
  if (!(rest >> utime >> stime)) return -1;
  return static_cast<double>(utime + stime) / sysconf(_SC_CLK_TCK);
}

}  // namespace

double CpuSeconds(pid_t pid) {
  return StatCpuSeconds(absl::StrCat("/proc/", pid, "/stat"));
}

std::map<std::string, double> ThreadCpuSeconds(pid_t pid) {
  std::map<std::string, double> by_name;
  const std::string tasks = absl::StrCat("/proc/", pid, "/task");
  DIR* dir = opendir(tasks.c_str());
  if (dir == nullptr) return by_name;
  while (dirent* entry = readdir(dir)) {
    if (entry->d_name[0] == '.') continue;
    const std::string task = absl::StrCat(tasks, "/", entry->d_name);
    std::ifstream comm(task + "/comm");
    std::string name;
    const double seconds = StatCpuSeconds(task + "/stat");
    if (!std::getline(comm, name) || seconds < 0) continue;  // ended
    by_name[name] += seconds;
  }
  closedir(dir);
  return by_name;
}

int ConnectLoopback(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

bool ProcessRunning(pid_t pid) {
  char state;
  pid_t ppid;
  return ReadStat(std::to_string(pid), &state, &ppid) && state != 'Z' &&
         state != 'X';
}

int CountOpenFds() {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return -1;
  int n = 0;
  while (dirent* e = readdir(dir)) {
    if (e->d_name[0] != '.') ++n;
  }
  closedir(dir);
  return n - 1;  // not the directory's own descriptor
}

int CountZombieChildren() {
  DIR* dir = opendir("/proc");
  if (dir == nullptr) return -1;
  const pid_t self = getpid();
  int zombies = 0;
  while (dirent* e = readdir(dir)) {
    int pid;
    if (!absl::SimpleAtoi(e->d_name, &pid)) continue;
    char state;
    pid_t ppid;
    if (ReadStat(e->d_name, &state, &ppid) && ppid == self && state == 'Z') {
      ++zombies;
    }
  }
  closedir(dir);
  return zombies;
}

double ThreadCpuSeconds(pid_t pid, const std::string& name) {
  const std::map<std::string, double> threads = ThreadCpuSeconds(pid);
  auto it = threads.find(name);
  return it == threads.end() ? 0.0 : it->second;
}

}  // namespace testing
}  // namespace mproc
