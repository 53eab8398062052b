// The command layer: turns one operation's positional arguments into a call
// on an object of the op's kind, and its result into a Value. Arity has
// been checked against the op table; these check argument types.
#ifndef MPROC_SERVER_COMMANDS_H_
#define MPROC_SERVER_COMMANDS_H_

#include "absl/status/statusor.h"
#include "client/op_table.h"
#include "client/value.h"
#include "server/parking.h"
#include "server/shared_object.h"

namespace mproc {

// Runs `op` on `object`, whose kind must be op.kind. Errors name the object
// and the faulty argument. Arguments may be moved from. A blocking op may
// park the call (call->parked; parking.h): its result is then meaningless
// and the answer comes later through call->sink.
absl::StatusOr<Value> RunCommand(SharedObject& object, const OpInfo& op,
                                 List& args, CallContext* call);

// The per-kind command functions RunCommand routes to, one file each
// (server/<kind>_commands.cc), like redis's t_hash.c / t_list.c commands.
class ArrayObject;
class CommandArgs;
class DictObject;
class ListObject;
class NamespaceObject;
class QueueObject;
class LockObject;
class SemaphoreObject;
class EventObject;
class ConditionObject;
class BarrierObject;
class PoolObject;
class TypedValueObject;
absl::StatusOr<Value> RunDictCommand(DictObject& d, const OpInfo& op,
                                     const CommandArgs& a);
absl::StatusOr<Value> RunListCommand(ListObject& l, const OpInfo& op,
                                     const CommandArgs& a);
absl::StatusOr<Value> RunTypedValueCommand(TypedValueObject& v,
                                           const OpInfo& op,
                                           const CommandArgs& a);
absl::StatusOr<Value> RunArrayCommand(ArrayObject& arr, const OpInfo& op,
                                      const CommandArgs& a);
absl::StatusOr<Value> RunNamespaceCommand(NamespaceObject& ns, const OpInfo& op,
                                          const CommandArgs& a);
absl::StatusOr<Value> RunQueueCommand(QueueObject& q, const OpInfo& op,
                                      const CommandArgs& a, CallContext* call);
absl::StatusOr<Value> RunLockCommand(LockObject& lock, const OpInfo& op,
                                     const CommandArgs& a, CallContext* call);
absl::StatusOr<Value> RunSemaphoreCommand(SemaphoreObject& sem,
                                          const OpInfo& op,
                                          const CommandArgs& a,
                                          CallContext* call);
absl::StatusOr<Value> RunEventCommand(EventObject& event, const OpInfo& op,
                                      const CommandArgs& a, CallContext* call);
absl::StatusOr<Value> RunConditionCommand(ConditionObject& cond,
                                          const OpInfo& op,
                                          const CommandArgs& a,
                                          CallContext* call);
absl::StatusOr<Value> RunBarrierCommand(BarrierObject& barrier,
                                        const OpInfo& op, const CommandArgs& a,
                                        CallContext* call);

absl::StatusOr<Value> RunPoolCommand(PoolObject& pool, const OpInfo& op,
                                     const CommandArgs& a, CallContext* call);

}  // namespace mproc

#endif  // MPROC_SERVER_COMMANDS_H_
