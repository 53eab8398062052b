// The dict commands: wire arguments in, DictObject calls out.
#include "server/command_args.h"
#include "server/commands.h"
#include "server/dict_object.h"

namespace mproc {

absl::StatusOr<Value> RunDictCommand(DictObject& d, const OpInfo& op,
                                     const CommandArgs& a) {
  switch (op.op) {
    case pb::DICT_GET: {
      MPROC_ASSIGN_OR_RETURN(key, a.Key(0));
      return d.Get(*key, a.Optional(1));
    }
    case pb::DICT_SET: {
      MPROC_ASSIGN_OR_RETURN(key, a.Key(0));
      d.Set(*key, a.Take(1));
      return Value();
    }
    case pb::DICT_SETDEFAULT: {
      MPROC_ASSIGN_OR_RETURN(key, a.Key(0));
      const Value* fallback = a.Optional(1);
      return d.SetDefault(*key, fallback ? *fallback : Value());
    }
    case pb::DICT_POP: {
      MPROC_ASSIGN_OR_RETURN(key, a.Key(0));
      return d.Pop(*key, a.Optional(1));
    }
    case pb::DICT_DELETE: {
      MPROC_ASSIGN_OR_RETURN(key, a.Key(0));
      return Done(d.Delete(*key));
    }
    case pb::DICT_CONTAINS: {
      MPROC_ASSIGN_OR_RETURN(key, a.Key(0));
      return Value(d.Contains(*key));
    }
    case pb::DICT_LEN:
      return Value(d.Size());
    case pb::DICT_KEYS:
      return Value(d.Keys());
    case pb::DICT_VALUES:
      return Value(d.Values());
    case pb::DICT_ITEMS:
      return Value(d.Items());
    case pb::DICT_UPDATE: {
      MPROC_ASSIGN_OR_RETURN(entries, a.MapArg(0, "entries"));
      (void)entries;
      d.Update(std::move(a.Take(0).mutable_map()));
      return Value();
    }
    case pb::DICT_CLEAR:
      d.Clear();
      return Value();
    case pb::DICT_GET_MANY: {
      MPROC_ASSIGN_OR_RETURN(keys, a.ListArg(0, "keys"));
      return Value(d.GetMany(*keys));
    }
    case pb::DICT_ADD: {
      MPROC_ASSIGN_OR_RETURN(key, a.Key(0));
      return d.Add(*key, a[1]);
    }
    default:
      break;
  }
  return absl::UnimplementedError(absl::StrCat("dict op ", op.name));
}

}  // namespace mproc
