// Routes an operation to its kind's command function.
#include "server/commands.h"

#include "absl/strings/str_cat.h"
#include "server/array_object.h"
#include "server/command_args.h"
#include "server/dict_object.h"
#include "server/list_object.h"
#include "server/namespace_object.h"
#include "server/pool_object.h"
#include "server/barrier_object.h"
#include "server/condition_object.h"
#include "server/event_object.h"
#include "server/lock_object.h"
#include "server/queue_object.h"
#include "server/semaphore_object.h"
#include "server/typed_value_object.h"

namespace mproc {

absl::StatusOr<Value> RunCommand(SharedObject& object, const OpInfo& op,
                                 List& args, CallContext* call) {
  const CommandArgs a(object, op, args);
  switch (object.kind()) {
    case pb::DICT:
      return RunDictCommand(static_cast<DictObject&>(object), op, a);
    case pb::LIST:
      return RunListCommand(static_cast<ListObject&>(object), op, a);
    case pb::VALUE:
      return RunTypedValueCommand(static_cast<TypedValueObject&>(object), op,
                                  a);
    case pb::ARRAY:
      return RunArrayCommand(static_cast<ArrayObject&>(object), op, a);
    case pb::NAMESPACE:
      return RunNamespaceCommand(static_cast<NamespaceObject&>(object), op, a);
    case pb::QUEUE:
      return RunQueueCommand(static_cast<QueueObject&>(object), op, a, call);
    case pb::LOCK:
      return RunLockCommand(static_cast<LockObject&>(object), op, a, call);
    case pb::SEMAPHORE:
      return RunSemaphoreCommand(static_cast<SemaphoreObject&>(object), op, a,
                                 call);
    case pb::EVENT:
      return RunEventCommand(static_cast<EventObject&>(object), op, a, call);
    case pb::CONDITION:
      return RunConditionCommand(static_cast<ConditionObject&>(object), op, a,
                                 call);
    case pb::BARRIER:
      return RunBarrierCommand(static_cast<BarrierObject&>(object), op, a,
                               call);
    case pb::POOL:
      return RunPoolCommand(static_cast<PoolObject&>(object), op, a, call);
    default:
      break;
  }
  return absl::InternalError(absl::StrCat(object.Describe(), ": unknown kind"));
}

}  // namespace mproc
