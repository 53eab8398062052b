#include "server/rpc/acl_file.h"

#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "common/authkey_file.h"

namespace mproc {
namespace {

std::string RoleList(uint32_t roles) {
  std::string names = RoleNames(roles);
  absl::StrReplaceAll({{", ", ","}}, &names);
  return names;
}

bool ParseHash(absl::string_view hex, std::string* out) {
  if (hex.size() != 2 * kProofBytes) return false;
  for (char c : hex) {
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(c))) return false;
  }
  *out = absl::HexStringToBytes(hex);
  return true;
}

}  // namespace

absl::StatusOr<Acl> LoadAclFile(const std::string& path) {
  absl::StatusOr<std::string> text = ReadPrivateFile(path, "ACL file");
  if (!text.ok()) return text.status();
  Acl acl;
  std::set<std::string> users;
  std::set<std::string> certificates;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(*text, '\n')) {
    ++line_number;
    if (size_t hash = line.find('#'); hash != absl::string_view::npos) {
      line = line.substr(0, hash);
    }
    std::vector<std::string> fields =
        absl::StrSplit(line, absl::ByAnyChar(" \t\r"), absl::SkipEmpty());
    if (fields.empty()) continue;
    auto bad = [&](absl::string_view why) {
      return absl::InvalidArgumentError(
          absl::StrCat("ACL file ", path, " line ", line_number, ": ", why));
    };
    const bool user = fields[0] == "user";
    if (!user && fields[0] != "cert") {
      return bad(absl::StrCat("'", fields[0],
                              "' is not an entry kind (user or cert)"));
    }
    const size_t roles_at = user ? 3 : 2;
    if (fields.size() < roles_at + 1 || fields.size() > roles_at + 2) {
      return bad(user ? "want: user NAME STORED:SERVER ROLES [PATTERN]"
                      : "want: cert COMMON_NAME ROLES [PATTERN]");
    }
    absl::StatusOr<uint32_t> roles = ParseRoles(fields[roles_at]);
    if (!roles.ok()) return bad(roles.status().message());
    Access access;
    access.principal = fields[1];
    access.roles = *roles;
    if (fields.size() > roles_at + 1) access.pattern = fields[roles_at + 1];
    if (user) {
      if (!users.insert(fields[1]).second) {
        return bad(absl::StrCat("user '", fields[1], "' is listed twice"));
      }
      std::vector<std::string> hashes = absl::StrSplit(fields[2], ':');
      AclUser entry;
      if (hashes.size() != 2 ||
          !ParseHash(hashes[0], &entry.credential.stored_key) ||
          !ParseHash(hashes[1], &entry.credential.server_key)) {
        return bad(
            "the key must be STORED:SERVER, two 64-digit hex hashes "
            "(mproc acl add makes them)");
      }
      entry.access = std::move(access);
      acl.users.push_back(std::move(entry));
    } else {
      if (!certificates.insert(fields[1]).second) {
        return bad(
            absl::StrCat("certificate '", fields[1], "' is listed twice"));
      }
      acl.certificates.push_back({std::move(access)});
    }
  }
  if (acl.users.empty() && acl.certificates.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("ACL file ", path, " lists nobody"));
  }
  return acl;
}

std::string AclUserLine(const std::string& name, const std::string& key,
                        uint32_t roles, const std::string& pattern) {
  const StoredCredential credential = DeriveCredential(key);
  return absl::StrCat("user ", name, " ",
                      absl::BytesToHexString(credential.stored_key), ":",
                      absl::BytesToHexString(credential.server_key), " ",
                      RoleList(roles), pattern.empty() ? "" : " ", pattern);
}

}  // namespace mproc
