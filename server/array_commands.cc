// The array commands: wire arguments in, ArrayObject calls out.
#include "server/array_object.h"
#include "server/command_args.h"
#include "server/commands.h"

namespace mproc {
namespace {

using Result = absl::StatusOr<Value>;

Result Len(ArrayObject& arr, const CommandArgs&, CallContext*) {
  return Value(arr.Size());
}

Result Get(ArrayObject& arr, const CommandArgs& a, CallContext*) {
  MPROC_ASSIGN_OR_RETURN(index, a.Int(0, "index"));
  return arr.Get(index);
}

Result Set(ArrayObject& arr, const CommandArgs& a, CallContext*) {
  MPROC_ASSIGN_OR_RETURN(index, a.Int(0, "index"));
  return Done(arr.Set(index, a[1]));
}

Result Slice(ArrayObject& arr, const CommandArgs& a, CallContext* call) {
  MPROC_ASSIGN_OR_RETURN(start, a.OptionalInt(0, "start"));
  MPROC_ASSIGN_OR_RETURN(stop, a.OptionalInt(1, "stop"));
  AnswerBudget budget(call->answer_limit);
  MPROC_ASSIGN_OR_RETURN(elements, arr.Slice(start, stop, &budget));
  return Value(std::move(elements));
}

Result Add(ArrayObject& arr, const CommandArgs& a, CallContext*) {
  MPROC_ASSIGN_OR_RETURN(index, a.Int(0, "index"));
  return arr.Add(index, a[1]);
}

constexpr CommandRow kRows[] = {
    {pb::ARRAY_LEN, On<ArrayObject, Len>},
    {pb::ARRAY_GET, On<ArrayObject, Get>},
    {pb::ARRAY_SET, On<ArrayObject, Set>},
    {pb::ARRAY_SLICE, On<ArrayObject, Slice>},
    {pb::ARRAY_ADD, On<ArrayObject, Add>},
};

}  // namespace

absl::Span<const CommandRow> ArrayCommands() { return kRows; }

}  // namespace mproc
