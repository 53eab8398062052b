// The typed value commands: wire arguments in, TypedValueObject calls out.
#include "server/command_args.h"
#include "server/commands.h"
#include "server/typed_value_object.h"

namespace mproc {
namespace {

using Result = absl::StatusOr<Value>;

Result Get(TypedValueObject& v, const CommandArgs&, CallContext*) {
  return v.Get();
}

Result Set(TypedValueObject& v, const CommandArgs& a, CallContext*) {
  return Done(v.Set(a[0]));
}

Result Add(TypedValueObject& v, const CommandArgs& a, CallContext*) {
  return v.Add(a[0]);
}

Result CompareAndSwap(TypedValueObject& v, const CommandArgs& a, CallContext*) {
  return v.CompareAndSwap(a[0], a[1]);
}

constexpr CommandRow kRows[] = {
    {pb::VALUE_GET, On<TypedValueObject, Get>},
    {pb::VALUE_SET, On<TypedValueObject, Set>},
    {pb::VALUE_ADD, On<TypedValueObject, Add>},
    {pb::VALUE_CAS, On<TypedValueObject, CompareAndSwap>},
};

}  // namespace

absl::Span<const CommandRow> TypedValueCommands() { return kRows; }

}  // namespace mproc
