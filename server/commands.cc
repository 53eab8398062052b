// DESIGN: one Run*Command function per kind, each a switch over the kind's
// ops. Argument checks come from a few helpers so every message has the
// form "<kind> '<name>': <what> of <op> must be <type>, got <value>".
#include "server/commands.h"

#include <optional>

#include "absl/strings/str_cat.h"
#include "server/array_object.h"
#include "server/dict_object.h"
#include "server/errors.h"
#include "server/list_object.h"
#include "server/namespace_object.h"
#include "server/typed_value_object.h"

namespace mproc {
namespace {

// Reads the arguments of one operation with type checks.
class Args {
 public:
  Args(const SharedObject& object, const OpInfo& op, List& args)
      : object_(object), op_(op), args_(args) {}

  size_t size() const { return args_.size(); }
  const Value& operator[](size_t i) const { return args_[i]; }
  // Moves argument i out (for large maps and lists that are stored).
  Value Take(size_t i) const { return std::move(args_[i]); }
  // nullptr when the optional argument i was not given.
  const Value* Optional(size_t i) const {
    return i < args_.size() ? &args_[i] : nullptr;
  }

  absl::StatusOr<int64_t> Int(size_t i, absl::string_view what) const {
    if (!args_[i].is_int()) return Wrong(what, "an int", args_[i]);
    return args_[i].int_value();
  }

  // An int, or nullopt for null or a missing argument (slice bounds).
  absl::StatusOr<std::optional<int64_t>> OptionalInt(
      size_t i, absl::string_view what) const {
    if (i >= args_.size() || args_[i].is_null()) return std::nullopt;
    absl::StatusOr<int64_t> v = Int(i, what);
    if (!v.ok()) return v.status();
    return std::optional<int64_t>(*v);
  }

  absl::StatusOr<const Value*> Key(size_t i) const {
    if (!args_[i].is_scalar()) {
      return Wrong("key", "a scalar (null, bool, int, double, string, bytes)",
                   args_[i]);
    }
    return &args_[i];
  }

  absl::StatusOr<const std::string*> String(size_t i,
                                            absl::string_view what) const {
    if (!args_[i].is_string()) return Wrong(what, "a string", args_[i]);
    return &args_[i].string_value();
  }

  absl::StatusOr<const List*> ListArg(size_t i, absl::string_view what) const {
    if (!args_[i].is_list()) return Wrong(what, "a list", args_[i]);
    return &args_[i].list_value();
  }

  absl::StatusOr<const Map*> MapArg(size_t i, absl::string_view what) const {
    if (!args_[i].is_map()) return Wrong(what, "a map", args_[i]);
    return &args_[i].map_value();
  }

 private:
  absl::Status Wrong(absl::string_view what, absl::string_view wanted,
                     const Value& got) const {
    return WrongArgumentType(object_, absl::StrCat(what, " of ", op_.name),
                             wanted, got);
  }

  const SharedObject& object_;
  const OpInfo& op_;
  List& args_;
};

// Unwraps a StatusOr<T> into `var`, or returns its status.
#define MPROC_ASSIGN_OR_RETURN(var, expr) \
  auto var##_or = (expr);                 \
  if (!var##_or.ok()) return var##_or.status(); \
  auto var = *std::move(var##_or)

absl::StatusOr<Value> Done(const absl::Status& s) {
  if (!s.ok()) return s;
  return Value();
}

absl::StatusOr<Value> RunDict(DictObject& d, const OpInfo& op, const Args& a) {
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
    case pb::DICT_LEN: return Value(d.Size());
    case pb::DICT_KEYS: return Value(d.Keys());
    case pb::DICT_VALUES: return Value(d.Values());
    case pb::DICT_ITEMS: return Value(d.Items());
    case pb::DICT_UPDATE: {
      MPROC_ASSIGN_OR_RETURN(entries, a.MapArg(0, "entries"));
      (void)entries;
      d.Update(std::move(a.Take(0).mutable_map()));
      return Value();
    }
    case pb::DICT_CLEAR: d.Clear(); return Value();
    case pb::DICT_GET_MANY: {
      MPROC_ASSIGN_OR_RETURN(keys, a.ListArg(0, "keys"));
      return Value(d.GetMany(*keys));
    }
    case pb::DICT_ADD: {
      MPROC_ASSIGN_OR_RETURN(key, a.Key(0));
      return d.Add(*key, a[1]);
    }
    default: break;
  }
  return absl::UnimplementedError(absl::StrCat("dict op ", op.name));
}

absl::StatusOr<Value> RunList(ListObject& l, const OpInfo& op, const Args& a) {
  switch (op.op) {
    case pb::LIST_APPEND: return Value(l.Append(a.Take(0)));
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
    case pb::LIST_REMOVE: return Done(l.Remove(a[0]));
    case pb::LIST_INDEX: {
      MPROC_ASSIGN_OR_RETURN(index, l.Index(a[0]));
      return Value(index);
    }
    case pb::LIST_COUNT: return Value(l.Count(a[0]));
    case pb::LIST_LEN: return Value(l.Size());
    case pb::LIST_SLICE: {
      MPROC_ASSIGN_OR_RETURN(start, a.OptionalInt(0, "start"));
      MPROC_ASSIGN_OR_RETURN(stop, a.OptionalInt(1, "stop"));
      return Value(l.Slice(start, stop));
    }
    case pb::LIST_CLEAR: l.Clear(); return Value();
    default: break;
  }
  return absl::UnimplementedError(absl::StrCat("list op ", op.name));
}

absl::StatusOr<Value> RunTypedValue(TypedValueObject& v, const OpInfo& op,
                                    const Args& a) {
  switch (op.op) {
    case pb::VALUE_GET: return v.Get();
    case pb::VALUE_SET: return Done(v.Set(a[0]));
    case pb::VALUE_ADD: return v.Add(a[0]);
    case pb::VALUE_CAS: return v.CompareAndSwap(a[0], a[1]);
    default: break;
  }
  return absl::UnimplementedError(absl::StrCat("value op ", op.name));
}

absl::StatusOr<Value> RunArray(ArrayObject& arr, const OpInfo& op,
                               const Args& a) {
  switch (op.op) {
    case pb::ARRAY_LEN: return Value(arr.Size());
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
    default: break;
  }
  return absl::UnimplementedError(absl::StrCat("array op ", op.name));
}

absl::StatusOr<Value> RunNamespace(NamespaceObject& ns, const OpInfo& op,
                                   const Args& a) {
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
    case pb::NS_LIST: return Value(ns.Items());
    default: break;
  }
  return absl::UnimplementedError(absl::StrCat("namespace op ", op.name));
}

#undef MPROC_ASSIGN_OR_RETURN

}  // namespace

absl::StatusOr<Value> RunCommand(SharedObject& object, const OpInfo& op,
                                 List& args) {
  const Args a(object, op, args);
  switch (object.kind()) {
    case pb::DICT: return RunDict(static_cast<DictObject&>(object), op, a);
    case pb::LIST: return RunList(static_cast<ListObject&>(object), op, a);
    case pb::VALUE:
      return RunTypedValue(static_cast<TypedValueObject&>(object), op, a);
    case pb::ARRAY: return RunArray(static_cast<ArrayObject&>(object), op, a);
    case pb::NAMESPACE:
      return RunNamespace(static_cast<NamespaceObject&>(object), op, a);
    default: break;
  }
  return absl::InternalError(absl::StrCat(object.Describe(), ": unknown kind"));
}

}  // namespace mproc
