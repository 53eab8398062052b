#include "server/rpc/free_memory.h"

#include <malloc.h>

#include <atomic>
#include <system_error>
#include <thread>

#include "absl/time/clock.h"

// gperftools' C interface, present when libtcmalloc is linked (the
// sanitizer builds link none; then the weak symbol is null).
extern "C" void MallocExtension_ReleaseFreeMemory(void) __attribute__((weak));

namespace mproc {

void ReturnFreeMemory() {
  if (MallocExtension_ReleaseFreeMemory != nullptr) {
    MallocExtension_ReleaseFreeMemory();
  } else {
    malloc_trim(0);
  }
}

void ReturnFreeMemorySoon() {
  static std::atomic<int64_t> last_ms{0};
  const int64_t now = absl::ToUnixMillis(absl::Now());
  int64_t last = last_ms.load();
  if (now - last < 1000 || !last_ms.compare_exchange_strong(last, now)) return;
  try {
    std::thread(ReturnFreeMemory).detach();
  } catch (const std::system_error&) {
    // No thread to be had: the pages stay with the allocator.
  }
}

}  // namespace mproc
