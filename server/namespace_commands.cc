// The namespace commands: wire arguments in, NamespaceObject calls out.
#include "server/command_args.h"
#include "server/commands.h"
#include "server/namespace_object.h"

namespace mproc {

absl::StatusOr<Value> RunNamespaceCommand(NamespaceObject& ns, const OpInfo& op,
                                          const CommandArgs& a) {
  switch (op.op) {
    case pb::NS_GET: {
      MPROC_ASSIGN_OR_RETURN(attr, a.String(0, "attribute"));
      return ns.Get(*attr);
    }
    case pb::NS_SET: {
      MPROC_ASSIGN_OR_RETURN(attr, a.String(0, "attribute"));
      ns.Set(*attr, a[1]);
      return Value();
    }
    case pb::NS_DELETE: {
      MPROC_ASSIGN_OR_RETURN(attr, a.String(0, "attribute"));
      return Done(ns.Delete(*attr));
    }
    case pb::NS_LIST:
      return Value(ns.Items());
    default:
      break;
  }
  return absl::UnimplementedError(absl::StrCat("namespace op ", op.name));
}

}  // namespace mproc
