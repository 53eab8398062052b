// The arguments every waiting call shares: `block` and `timeout`.
#ifndef MPROC_SERVER_WAIT_ARGS_H_
#define MPROC_SERVER_WAIT_ARGS_H_

#include <cstddef>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/op_table.h"
#include "server/command_args.h"
#include "server/shared_object.h"

namespace mproc {

// Argument `i`: absent, null or true → block; false → don't.
// INVALID_ARGUMENT for anything but a bool or null.
absl::StatusOr<bool> BlockArg(const SharedObject& object, const OpInfo& op,
                              const CommandArgs& a, size_t i);

// Argument `i`: absent or null → no timeout (InfiniteDuration); else a
// number of seconds >= 0. INVALID_ARGUMENT otherwise (also for NaN).
absl::StatusOr<absl::Duration> TimeoutArg(const SharedObject& object,
                                          const OpInfo& op,
                                          const CommandArgs& a, size_t i);

}  // namespace mproc

#endif  // MPROC_SERVER_WAIT_ARGS_H_
