// The array commands: wire arguments in, ArrayObject calls out.
#include "server/array_object.h"
#include "server/command_args.h"
#include "server/commands.h"

namespace mproc {

absl::StatusOr<Value> RunArrayCommand(ArrayObject& arr, const OpInfo& op,
                                      const CommandArgs& a) {
  switch (op.op) {
    case pb::ARRAY_LEN:
      return Value(arr.Size());
    case pb::ARRAY_GET: {
      MPROC_ASSIGN_OR_RETURN(index, a.Int(0, "index"));
      return arr.Get(index);
    }
    case pb::ARRAY_SET: {
      MPROC_ASSIGN_OR_RETURN(index, a.Int(0, "index"));
      return Done(arr.Set(index, a[1]));
    }
    case pb::ARRAY_SLICE: {
      MPROC_ASSIGN_OR_RETURN(start, a.OptionalInt(0, "start"));
      MPROC_ASSIGN_OR_RETURN(stop, a.OptionalInt(1, "stop"));
      return Value(arr.Slice(start, stop));
    }
    case pb::ARRAY_ADD: {
      MPROC_ASSIGN_OR_RETURN(index, a.Int(0, "index"));
      return arr.Add(index, a[1]);
    }
    default:
      break;
  }
  return absl::UnimplementedError(absl::StrCat("array op ", op.name));
}

}  // namespace mproc
