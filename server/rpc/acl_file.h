// --acl-file: the manager's named keys and certificate names, each with
// its roles and object-name pattern (server/access.h). One entry a line;
// '#' starts a comment:
//
//   user NAME STORED_KEY:SERVER_KEY ROLES [PATTERN]
//   cert COMMON_NAME ROLES [PATTERN]
//
// A user's key is stored as the two hex hashes a manager needs to check it
// (common/auth_proof.h), never the key itself; `mproc acl add` makes a key
// and its line. ROLES is a comma-separated subset of admin, client, worker,
// exec; PATTERN a glob over object names (default: all). A `cert` entry
// admits a client whose (mutual TLS) certificate has that common name.
#ifndef MPROC_SERVER_RPC_ACL_FILE_H_
#define MPROC_SERVER_RPC_ACL_FILE_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/auth_proof.h"
#include "server/access.h"

namespace mproc {

struct AclUser {
  StoredCredential credential;
  Access access;  // access.principal is the user's name
};

struct AclCertificate {
  Access access;  // access.principal is the certificate's common name
};

struct Acl {
  std::vector<AclUser> users;
  std::vector<AclCertificate> certificates;
};

// The ACL in `path` (which, holding the hashes, must be private: errors
// as ReadPrivateFile). INVALID_ARGUMENT naming the line and what is wrong
// with it: an unknown entry kind or role, a malformed hash, a name given
// twice, no entry at all.
absl::StatusOr<Acl> LoadAclFile(const std::string& path);

// The line for user `name` with `key`.
std::string AclUserLine(const std::string& name, const std::string& key,
                        uint32_t roles, const std::string& pattern);

}  // namespace mproc

#endif  // MPROC_SERVER_RPC_ACL_FILE_H_
