// The table of operations: for each wire op, the kind of object it works on,
// its Python-style name and how many positional arguments it takes. The
// manager checks arity from it; the CLI and the batch builder look ops up by
// name in it. One table, so client and server cannot disagree.
#ifndef MPROC_COMMON_OP_TABLE_H_
#define MPROC_COMMON_OP_TABLE_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "proto/mproc.pb.h"

namespace mproc {

struct OpInfo {
  pb::Op op;
  pb::Kind kind;  // KIND_UNSPECIFIED for object-management ops
  const char* name;
  int min_args;
  int max_args;
  const char* usage;  // the arguments, as the CLI's help shows them
  // Adds data (or, for a queue get, waits for it): on a missing dict, list,
  // namespace or queue it creates the object. Other ops see a missing one
  // as empty and leave it missing.
  bool creates = false;
};

// nullptr for an op not in the table.
const OpInfo* FindOp(pb::Op op);

// The op of `kind` called `name` ("get", "set", ...); nullptr if none.
const OpInfo* FindOpByName(pb::Kind kind, absl::string_view name);

// The position of the op's TIMEOUT argument (as its usage names it): the
// ops that may wait for something have one; -1 for all others.
int TimeoutArgument(const OpInfo& op);

// Every op of `kind`, in table order.
std::vector<const OpInfo*> OpsOfKind(pb::Kind kind);

// The op's name in the table ("get", "worker_next"); its proto enum name
// for an op the table lacks.
std::string OpName(pb::Op op);

// "dict", "list", "value", "array", "namespace" ("object" for none).
const char* KindName(pb::Kind kind);

// The inverse of KindName; nullopt for an unknown name.
std::optional<pb::Kind> KindFromName(absl::string_view name);

}  // namespace mproc

#endif  // MPROC_COMMON_OP_TABLE_H_
