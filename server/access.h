// What one authenticated caller may do: roles, like Redis ACL users but
// simpler, and a pattern over the object names it may touch.
//
//   admin   everything: any object, delete, backup;
//   client  the objects (and pools, to submit and collect tasks) whose
//           names match its pattern; listing and server info;
//   worker  the worker side of the pools whose names match: take tasks,
//           report results; their status; server info;
//   exec    may submit tasks that run commands (`exec`), with client.
//
// Thread-compatible (immutable once made).
#ifndef MPROC_SERVER_ACCESS_H_
#define MPROC_SERVER_ACCESS_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "proto/mproc.pb.h"

namespace mproc {

enum AccessRole : uint32_t {
  kRoleAdmin = 1,
  kRoleClient = 2,
  kRoleWorker = 4,
  kRoleExec = 8,
};

struct Access {
  std::string principal;  // who, for messages: a user or certificate name
  uint32_t roles = 0;     // none: fails closed until set
  // A shell-style glob (* ? [..]) over object names; empty: every name.
  std::string pattern;

  // The caller of a manager without roles: the lone key (or none) admits
  // to everything.
  static const Access& Everything();

  // OK, or PERMISSION_DENIED naming the op, the object, the caller and the
  // role the request needs. Every object a request names counts: a
  // condition's lock as well as the condition.
  absl::Status Check(const pb::Request& request) const;

  // Whether the object called `name` is within reach (admin, or the
  // pattern matches).
  bool Reaches(const std::string& name) const;
};

// "admin,client,worker,exec" (any subset, comma-separated) as roles;
// INVALID_ARGUMENT naming an unknown one.
absl::StatusOr<uint32_t> ParseRoles(absl::string_view text);
std::string RoleNames(uint32_t roles);

}  // namespace mproc

#endif  // MPROC_SERVER_ACCESS_H_
