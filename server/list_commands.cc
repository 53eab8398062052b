// The list commands: wire arguments in, ListObject calls out.
#include "server/command_args.h"
#include "server/commands.h"
#include "server/list_object.h"

namespace mproc {
namespace {

using Result = absl::StatusOr<Value>;

Result Append(ListObject& l, const CommandArgs& a, CallContext*) {
  MPROC_ASSIGN_OR_RETURN(length, l.Append(a.Take(0)));
  return Value(length);
}

Result Extend(ListObject& l, const CommandArgs& a, CallContext*) {
  MPROC_ASSIGN_OR_RETURN(items, a.ListArg(0, "items"));
  MPROC_ASSIGN_OR_RETURN(length, l.Extend(*items));
  return Value(length);
}

Result Get(ListObject& l, const CommandArgs& a, CallContext*) {
  MPROC_ASSIGN_OR_RETURN(index, a.Int(0, "index"));
  return l.Get(index);
}

Result Set(ListObject& l, const CommandArgs& a, CallContext*) {
  MPROC_ASSIGN_OR_RETURN(index, a.Int(0, "index"));
  return Done(l.Set(index, a[1]));
}

Result Insert(ListObject& l, const CommandArgs& a, CallContext*) {
  MPROC_ASSIGN_OR_RETURN(index, a.Int(0, "index"));
  return Done(l.Insert(index, a[1]));
}

Result Pop(ListObject& l, const CommandArgs& a, CallContext*) {
  MPROC_ASSIGN_OR_RETURN(index, a.OptionalInt(0, "index"));
  return l.Pop(index.value_or(-1));
}

Result Remove(ListObject& l, const CommandArgs& a, CallContext*) {
  return Done(l.Remove(a[0]));
}

Result Index(ListObject& l, const CommandArgs& a, CallContext*) {
  MPROC_ASSIGN_OR_RETURN(index, l.Index(a[0]));
  return Value(index);
}

Result Count(ListObject& l, const CommandArgs& a, CallContext*) {
  return Value(l.Count(a[0]));
}

Result Len(ListObject& l, const CommandArgs&, CallContext*) {
  return Value(l.Size());
}

Result Slice(ListObject& l, const CommandArgs& a, CallContext* call) {
  MPROC_ASSIGN_OR_RETURN(start, a.OptionalInt(0, "start"));
  MPROC_ASSIGN_OR_RETURN(stop, a.OptionalInt(1, "stop"));
  AnswerBudget budget(call->answer_limit);
  MPROC_ASSIGN_OR_RETURN(items, l.Slice(start, stop, &budget));
  return Value(std::move(items));
}

Result Clear(ListObject& l, const CommandArgs&, CallContext*) {
  return Done(l.Clear());
}

Result SetSlice(ListObject& l, const CommandArgs& a, CallContext*) {
  MPROC_ASSIGN_OR_RETURN(start, a.OptionalInt(0, "start"));
  MPROC_ASSIGN_OR_RETURN(stop, a.OptionalInt(1, "stop"));
  MPROC_ASSIGN_OR_RETURN(items, a.ListArg(2, "items"));
  return Done(l.SetSlice(start, stop, *items));
}

Result Reverse(ListObject& l, const CommandArgs&, CallContext*) {
  return Done(l.Reverse());
}

Result Sort(ListObject& l, const CommandArgs& a, CallContext*) {
  const Value* reverse = a.Optional(0);
  if (reverse != nullptr && !reverse->is_bool() && !reverse->is_null()) {
    return WrongArgumentType(l, "reverse of sort", "a bool", *reverse);
  }
  return Done(l.Sort(reverse != nullptr && reverse->is_bool() &&
                     reverse->bool_value()));
}

constexpr CommandRow kRows[] = {
    {pb::LIST_APPEND, On<ListObject, Append>},
    {pb::LIST_EXTEND, On<ListObject, Extend>},
    {pb::LIST_GET, On<ListObject, Get>},
    {pb::LIST_SET, On<ListObject, Set>},
    {pb::LIST_INSERT, On<ListObject, Insert>},
    {pb::LIST_POP, On<ListObject, Pop>},
    {pb::LIST_REMOVE, On<ListObject, Remove>},
    {pb::LIST_INDEX, On<ListObject, Index>},
    {pb::LIST_COUNT, On<ListObject, Count>},
    {pb::LIST_LEN, On<ListObject, Len>},
    {pb::LIST_SLICE, On<ListObject, Slice>},
    {pb::LIST_CLEAR, On<ListObject, Clear>},
    {pb::LIST_SET_SLICE, On<ListObject, SetSlice>},
    {pb::LIST_REVERSE, On<ListObject, Reverse>},
    {pb::LIST_SORT, On<ListObject, Sort>},
};

}  // namespace

absl::Span<const CommandRow> ListCommands() { return kRows; }

}  // namespace mproc
