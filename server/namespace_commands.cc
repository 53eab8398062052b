// The namespace commands: wire arguments in, NamespaceObject calls out.
#include "server/command_args.h"
#include "server/commands.h"
#include "server/namespace_object.h"

namespace mproc {
namespace {

using Result = absl::StatusOr<Value>;

Result Get(NamespaceObject& ns, const CommandArgs& a, CallContext*) {
  MPROC_ASSIGN_OR_RETURN(attr, a.String(0, "attribute"));
  return ns.Get(*attr);
}

Result Set(NamespaceObject& ns, const CommandArgs& a, CallContext*) {
  MPROC_ASSIGN_OR_RETURN(attr, a.String(0, "attribute"));
  return Done(ns.Set(*attr, a[1]));
}

Result Delete(NamespaceObject& ns, const CommandArgs& a, CallContext*) {
  MPROC_ASSIGN_OR_RETURN(attr, a.String(0, "attribute"));
  return Done(ns.Delete(*attr));
}

Result Items(NamespaceObject& ns, const CommandArgs&, CallContext* call) {
  AnswerBudget budget(call->answer_limit);
  MPROC_ASSIGN_OR_RETURN(all, ns.Items(&budget));
  return Value(std::move(all));
}

constexpr CommandRow kRows[] = {
    {pb::NS_GET, On<NamespaceObject, Get>},
    {pb::NS_SET, On<NamespaceObject, Set>},
    {pb::NS_DELETE, On<NamespaceObject, Delete>},
    {pb::NS_LIST, On<NamespaceObject, Items>},
};

}  // namespace

absl::Span<const CommandRow> NamespaceCommands() { return kRows; }

}  // namespace mproc
