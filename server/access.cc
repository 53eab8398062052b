#include "server/access.h"

#include <fnmatch.h>

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/op_table.h"
#include "common/task_wire.h"
#include "common/wire.h"

namespace mproc {
namespace {

constexpr struct {
  AccessRole role;
  const char* name;
} kRoles[] = {{kRoleAdmin, "admin"},
              {kRoleClient, "client"},
              {kRoleWorker, "worker"},
              {kRoleExec, "exec"}};

// The roles any one of which may run `request` (0: admin only).
uint32_t RolesFor(const pb::Request& request) {
  switch (request.op()) {
    case pb::DELETE_OBJECT:
    case pb::BACKUP:
      return 0;
    case pb::SERVER_INFO:
      return kRoleClient | kRoleWorker;
    case pb::POOL_WORKER_NEXT:
    case pb::POOL_WORKER_STOP:
    case pb::POOL_WORKER_HOLDS:
      return kRoleWorker;
    case pb::POOL_REQUEUE:
      return 0;  // runs again what anyone submitted (exec tasks too)
    case pb::POOL_CANCEL_TASK:
      // A client's own task (its inbox, which only it knows), or any.
      return request.args_size() >= 2 ? static_cast<uint32_t>(kRoleClient)
                                      : uint32_t{0};
    case pb::POOL_STATUS:
      return kRoleClient | kRoleWorker;
    case pb::OPEN:
      return request.create().kind() == pb::POOL ? kRoleClient | kRoleWorker
                                                 : kRoleClient;
    default:
      return kRoleClient;
  }
}

// Whether the op reaches a named object (and so meets the pattern).
bool Named(pb::Op op) {
  return op != pb::SERVER_INFO && op != pb::LIST_OBJECTS;
}

// True if a POOL_SUBMIT runs commands: one of its tasks is `exec`.
bool SubmitsExec(const pb::Request& request) {
  if (request.args_size() < 2) return false;
  absl::StatusOr<Value> tasks = ValueFromProto(request.args(1));
  if (!tasks.ok() || !tasks->is_list()) return false;
  for (const Value& task : tasks->list_value()) {
    absl::StatusOr<TaskEnvelope> decoded = DecodeTaskEnvelope(task);
    if (decoded.ok() && decoded->name == "exec") return true;
  }
  return false;
}

}  // namespace

const Access& Access::Everything() {
  static const Access* const kEverything = new Access{"", kRoleAdmin, ""};
  return *kEverything;
}

absl::Status Access::Check(const pb::Request& request) const {
  if (roles & kRoleAdmin) return absl::OkStatus();
  const uint32_t needed = RolesFor(request);
  const std::string& name = request.name();
  auto denied = [&](absl::string_view why) {
    return absl::PermissionDeniedError(absl::StrCat(
        OpName(request.op()), Named(request.op()) ? " on '" : "",
        Named(request.op()) ? name : "", Named(request.op()) ? "'" : "", ": ",
        principal.empty() ? "this caller" : "'" + principal + "'",
        " (roles: ", RoleNames(roles), ") ", why));
  };
  if ((roles & needed) == 0) {
    return denied(absl::StrCat("may not: it needs one of the roles ",
                               RoleNames(needed | kRoleAdmin)));
  }
  if (Named(request.op()) && !Reaches(name)) {
    return denied(absl::StrCat("may reach only objects named '", pattern, "'"));
  }
  // A condition names its lock too: found or created by that name.
  if (request.op() == pb::OPEN && request.create().kind() == pb::CONDITION &&
      !Reaches(request.create().lock())) {
    return denied(
        absl::StrCat("may not use the lock '", request.create().lock(),
                     "': it may reach only objects named '", pattern, "'"));
  }
  if (request.op() == pb::POOL_SUBMIT && !(roles & kRoleExec) &&
      SubmitsExec(request)) {
    return denied("may not run commands: exec tasks need the exec role");
  }
  return absl::OkStatus();
}

bool Access::Reaches(const std::string& name) const {
  return (roles & kRoleAdmin) || pattern.empty() ||
         fnmatch(pattern.c_str(), name.c_str(), 0) == 0;
}

absl::StatusOr<uint32_t> ParseRoles(absl::string_view text) {
  uint32_t roles = 0;
  for (absl::string_view part : absl::StrSplit(text, ',', absl::SkipEmpty())) {
    bool known = false;
    for (const auto& r : kRoles) {
      if (part == r.name) {
        roles |= r.role;
        known = true;
      }
    }
    if (!known) {
      return absl::InvalidArgumentError(absl::StrCat(
          "unknown role '", part, "' (admin, client, worker, exec)"));
    }
  }
  if (roles == 0) {
    return absl::InvalidArgumentError(
        "no role given (admin, client, worker, exec)");
  }
  return roles;
}

std::string RoleNames(uint32_t roles) {
  std::vector<const char*> names;
  for (const auto& r : kRoles) {
    if (roles & r.role) names.push_back(r.name);
  }
  return absl::StrJoin(names, ", ");
}

}  // namespace mproc
