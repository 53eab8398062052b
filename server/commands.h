// The command layer: turns one operation's positional arguments into a call
// on an object of the op's kind, and its result into a Value. Arity has
// been checked against the op table; these check argument types.
#ifndef MPROC_SERVER_COMMANDS_H_
#define MPROC_SERVER_COMMANDS_H_

#include "absl/status/statusor.h"
#include "client/op_table.h"
#include "client/value.h"
#include "server/shared_object.h"

namespace mproc {

// Runs `op` on `object`, whose kind must be op.kind. Errors name the object
// and the faulty argument.
absl::StatusOr<Value> RunCommand(SharedObject& object, const OpInfo& op,
                                 List& args);

}  // namespace mproc

#endif  // MPROC_SERVER_COMMANDS_H_
