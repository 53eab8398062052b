// The list commands: wire arguments in, ListObject calls out.
#include "server/command_args.h"
#include "server/commands.h"
#include "server/list_object.h"

namespace mproc {

absl::StatusOr<Value> RunListCommand(ListObject& l, const OpInfo& op,
                                     const CommandArgs& a) {
  switch (op.op) {
    case pb::LIST_APPEND:
      return Value(l.Append(a.Take(0)));
    case pb::LIST_EXTEND: {
      MPROC_ASSIGN_OR_RETURN(items, a.ListArg(0, "items"));
      return Value(l.Extend(*items));
    }
    case pb::LIST_GET: {
      MPROC_ASSIGN_OR_RETURN(index, a.Int(0, "index"));
      return l.Get(index);
    }
    case pb::LIST_SET: {
      MPROC_ASSIGN_OR_RETURN(index, a.Int(0, "index"));
      return Done(l.Set(index, a[1]));
    }
    case pb::LIST_INSERT: {
      MPROC_ASSIGN_OR_RETURN(index, a.Int(0, "index"));
      l.Insert(index, a[1]);
      return Value();
    }
    case pb::LIST_POP: {
      MPROC_ASSIGN_OR_RETURN(index, a.OptionalInt(0, "index"));
      return l.Pop(index.value_or(-1));
    }
    case pb::LIST_REMOVE:
      return Done(l.Remove(a[0]));
    case pb::LIST_INDEX: {
      MPROC_ASSIGN_OR_RETURN(index, l.Index(a[0]));
      return Value(index);
    }
    case pb::LIST_COUNT:
      return Value(l.Count(a[0]));
    case pb::LIST_LEN:
      return Value(l.Size());
    case pb::LIST_SLICE: {
      MPROC_ASSIGN_OR_RETURN(start, a.OptionalInt(0, "start"));
      MPROC_ASSIGN_OR_RETURN(stop, a.OptionalInt(1, "stop"));
      return Value(l.Slice(start, stop));
    }
    case pb::LIST_CLEAR:
      l.Clear();
      return Value();
    default:
      break;
  }
  return absl::UnimplementedError(absl::StrCat("list op ", op.name));
}

}  // namespace mproc
