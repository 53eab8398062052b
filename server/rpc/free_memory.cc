#include "server/rpc/free_memory.h"

#include <malloc.h>

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

}  // namespace mproc
