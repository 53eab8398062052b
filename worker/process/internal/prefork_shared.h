// The pre-fork server's counters, in memory shared by the arbiter, its
// processes and whoever forked them: one slot per process (two
// generations, for reloads).
#ifndef MPROC_WORKER_PROCESS_INTERNAL_PREFORK_SHARED_H_
#define MPROC_WORKER_PROCESS_INTERNAL_PREFORK_SHARED_H_

#include <algorithm>
#include <atomic>
#include <cstdint>

namespace mproc {
namespace process_internal {

inline constexpr int kMaxPreforkProcesses = 256;

struct PreforkShared {
  struct Slot {
    std::atomic<int32_t> pid{0};
    std::atomic<int32_t> ready{0};  // accepting
    std::atomic<int64_t> accepted{0};
    std::atomic<int64_t> active{0};
    void Reset() {
      pid = 0;
      ready = 0;
      accepted = 0;
      active = 0;
    }
  };
  std::atomic<int64_t> retired_accepted{0};  // by processes gone
  Slot slots[2 * kMaxPreforkProcesses];

  // The fewest connections a sibling of `slot` that accepts holds
  // (INT64_MAX if none). The kernel hands connections to whichever process
  // asks first; on a busy machine one could take most, so a process well
  // above this leaves new connections to its siblings.
  int64_t LeastLoadedSibling(int slot) const {
    int64_t least = INT64_MAX;
    for (int i = 0; i < 2 * kMaxPreforkProcesses; ++i) {
      const Slot& other = slots[i];
      if (i == slot || other.pid == 0 || other.ready == 0) continue;
      least = std::min(least, other.active.load());
    }
    return least;
  }
};

}  // namespace process_internal
}  // namespace mproc

#endif  // MPROC_WORKER_PROCESS_INTERNAL_PREFORK_SHARED_H_
