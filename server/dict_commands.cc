// The dict commands: wire arguments in, DictObject calls out.
#include <utility>

#include "server/command_args.h"
#include "server/commands.h"
#include "server/dict_object.h"

namespace mproc {
namespace {

using Result = absl::StatusOr<Value>;

Result Get(DictObject& d, const CommandArgs& a, CallContext*) {
  MPROC_ASSIGN_OR_RETURN(key, a.Key(0));
  return d.Get(*key, a.Optional(1));
}

Result Set(DictObject& d, const CommandArgs& a, CallContext*) {
  MPROC_ASSIGN_OR_RETURN(key, a.Key(0));
  return Done(d.Set(*key, a[1]));
}

Result SetDefault(DictObject& d, const CommandArgs& a, CallContext*) {
  MPROC_ASSIGN_OR_RETURN(key, a.Key(0));
  const Value* fallback = a.Optional(1);
  return d.SetDefault(*key, fallback ? *fallback : Value());
}

Result Pop(DictObject& d, const CommandArgs& a, CallContext*) {
  MPROC_ASSIGN_OR_RETURN(key, a.Key(0));
  return d.Pop(*key, a.Optional(1));
}

Result Delete(DictObject& d, const CommandArgs& a, CallContext*) {
  MPROC_ASSIGN_OR_RETURN(key, a.Key(0));
  return Done(d.Delete(*key));
}

Result Contains(DictObject& d, const CommandArgs& a, CallContext*) {
  MPROC_ASSIGN_OR_RETURN(key, a.Key(0));
  return Value(d.Contains(*key));
}

Result Len(DictObject& d, const CommandArgs&, CallContext*) {
  return Value(d.Size());
}

Result Keys(DictObject& d, const CommandArgs&, CallContext* call) {
  AnswerBudget budget(call->answer_limit);
  MPROC_ASSIGN_OR_RETURN(all, d.Keys(&budget));
  return Value(std::move(all));
}

Result Values(DictObject& d, const CommandArgs&, CallContext* call) {
  AnswerBudget budget(call->answer_limit);
  MPROC_ASSIGN_OR_RETURN(all, d.Values(&budget));
  return Value(std::move(all));
}

Result Items(DictObject& d, const CommandArgs&, CallContext* call) {
  AnswerBudget budget(call->answer_limit);
  MPROC_ASSIGN_OR_RETURN(all, d.Items(&budget));
  return Value(std::move(all));
}

Result Update(DictObject& d, const CommandArgs& a, CallContext*) {
  if (absl::Status s = a.MapArg(0, "entries").status(); !s.ok()) return s;
  return Done(d.Update(a[0].map_value()));
}

Result Clear(DictObject& d, const CommandArgs&, CallContext*) {
  return Done(d.Clear());
}

Result GetMany(DictObject& d, const CommandArgs& a, CallContext* call) {
  MPROC_ASSIGN_OR_RETURN(keys, a.ListArg(0, "keys"));
  AnswerBudget budget(call->answer_limit);
  MPROC_ASSIGN_OR_RETURN(found, d.GetMany(*keys, &budget));
  return Value(std::move(found));
}

Result Add(DictObject& d, const CommandArgs& a, CallContext*) {
  MPROC_ASSIGN_OR_RETURN(key, a.Key(0));
  return d.Add(*key, a[1]);
}

constexpr CommandRow kRows[] = {
    {pb::DICT_GET, On<DictObject, Get>},
    {pb::DICT_SET, On<DictObject, Set>},
    {pb::DICT_SETDEFAULT, On<DictObject, SetDefault>},
    {pb::DICT_POP, On<DictObject, Pop>},
    {pb::DICT_DELETE, On<DictObject, Delete>},
    {pb::DICT_CONTAINS, On<DictObject, Contains>},
    {pb::DICT_LEN, On<DictObject, Len>},
    {pb::DICT_KEYS, On<DictObject, Keys>},
    {pb::DICT_VALUES, On<DictObject, Values>},
    {pb::DICT_ITEMS, On<DictObject, Items>},
    {pb::DICT_UPDATE, On<DictObject, Update>},
    {pb::DICT_CLEAR, On<DictObject, Clear>},
    {pb::DICT_GET_MANY, On<DictObject, GetMany>},
    {pb::DICT_ADD, On<DictObject, Add>},
};

}  // namespace

absl::Span<const CommandRow> DictCommands() { return kRows; }

}  // namespace mproc
