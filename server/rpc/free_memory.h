// Handing memory the manager no longer uses back to the system.
//
// The manager is linked with tcmalloc, which keeps freed pages for reuse:
// after a client that piled up answers goes, the process would stay at
// its high-water mark. A session stream that held much unsent data asks
// for those pages to be returned when it ends.
#ifndef MPROC_SERVER_RPC_FREE_MEMORY_H_
#define MPROC_SERVER_RPC_FREE_MEMORY_H_

#include <cstdint>

namespace mproc {

// A stream whose unsent answers ever reached this many bytes returns free
// memory when it ends (smaller ones leave it for reuse).
inline constexpr int64_t kReturnMemoryAfterBytes = int64_t{1} << 20;

// Returns the allocator's free pages to the system: tcmalloc's page heap
// when tcmalloc is linked, else glibc's (malloc_trim). Takes a few
// milliseconds; thread-safe.
void ReturnFreeMemory();

// The same on a thread of its own, at most once a second (a stream of
// short sessions with large answers must not stall the polling thread,
// nor the allocator, at every disconnect); a call within the second after
// the last is dropped.
void ReturnFreeMemorySoon();

}  // namespace mproc

#endif  // MPROC_SERVER_RPC_FREE_MEMORY_H_
