// The typed value commands: wire arguments in, TypedValueObject calls out.
#include "server/command_args.h"
#include "server/commands.h"
#include "server/typed_value_object.h"

namespace mproc {

absl::StatusOr<Value> RunTypedValueCommand(TypedValueObject& v,
                                           const OpInfo& op,
                                           const CommandArgs& a) {
  switch (op.op) {
    case pb::VALUE_GET:
      return v.Get();
    case pb::VALUE_SET:
      return Done(v.Set(a[0]));
    case pb::VALUE_ADD:
      return v.Add(a[0]);
    case pb::VALUE_CAS:
      return v.CompareAndSwap(a[0], a[1]);
    default:
      break;
  }
  return absl::UnimplementedError(absl::StrCat("value op ", op.name));
}

}  // namespace mproc
