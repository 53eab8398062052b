// The command layer: one row per operation, like redis's command table
// (`{"set", setCommand, -3, ...}` in commands.def, run as
// `c->cmd->proc(c)`). A row joins the op table's entry (kind, name, arity;
// common/op_table.h) to the function that runs the op, so the dispatcher
// finds both with one indexed lookup and calls the function directly.
//
// A command function receives an object of its row's kind (the dispatcher
// has checked the kind and the arity), checks its arguments' types
// (command_args.h) and calls the object. Errors name the object and the
// faulty argument. Arguments may be moved from. A blocking op may park the
// call (call->parked; parking.h): its result is then meaningless and the
// answer comes later through call->sink.
#ifndef MPROC_SERVER_COMMANDS_H_
#define MPROC_SERVER_COMMANDS_H_

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "common/op_table.h"
#include "common/value.h"
#include "proto/mproc.pb.h"
#include "server/command_args.h"
#include "server/parking.h"
#include "server/shared_object.h"

namespace mproc {

using CommandFn = absl::StatusOr<Value> (*)(SharedObject& object,
                                            const CommandArgs& args,
                                            CallContext* call);

struct Command {
  const OpInfo* info;  // kind, name, arity, creates
  // nullptr for the object-management ops (open, delete_object,
  // list_objects, server_info), which the dispatcher runs itself.
  CommandFn run;
};

// The row of `op`; nullptr for an op not in the table.
const Command* FindCommand(int op);

// What each kind's command file (server/<kind>_commands.cc) contributes.
struct CommandRow {
  pb::Op op;
  CommandFn run;
};

// Adapts a function of the concrete object type to a CommandFn.
template <typename Object,
          absl::StatusOr<Value> (*F)(Object&, const CommandArgs&, CallContext*)>
absl::StatusOr<Value> On(SharedObject& object, const CommandArgs& args,
                         CallContext* call) {
  return F(static_cast<Object&>(object), args, call);
}

absl::Span<const CommandRow> DictCommands();
absl::Span<const CommandRow> ListCommands();
absl::Span<const CommandRow> TypedValueCommands();
absl::Span<const CommandRow> ArrayCommands();
absl::Span<const CommandRow> NamespaceCommands();
absl::Span<const CommandRow> QueueCommands();
absl::Span<const CommandRow> SyncCommands();  // lock, semaphore, event,
                                              // condition, barrier
absl::Span<const CommandRow> PoolCommands();

}  // namespace mproc

#endif  // MPROC_SERVER_COMMANDS_H_
