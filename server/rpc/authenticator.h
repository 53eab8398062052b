// The manager's side of the authkey handshake (common/auth_proof.h): it
// answers Hello with a fresh challenge and its own proof, and admits a
// call only with a client proof for one of its challenges, each accepted
// once — or, with an ACL, a verified client certificate it names. What the
// caller may then do is its Access (server/access.h): everything for the
// lone key, its roles for an ACL entry. The key never crosses the wire;
// refusals are logged with the peer, at most one line a second.
//
// Challenges are stateless (a random part, the time, and a MAC under a
// secret of this run), so Hello costs no memory however often it is
// called; only challenges already used are remembered, until they expire.
// Thread-safe.
#ifndef MPROC_SERVER_RPC_AUTHENTICATOR_H_
#define MPROC_SERVER_RPC_AUTHENTICATOR_H_

#include <deque>
#include <optional>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "proto/mproc.pb.h"
#include "server/access.h"
#include "server/rpc/acl_file.h"
#include "server/rpc/rate_limited_log.h"

namespace mproc {

struct AuthConfig {
  // The lone key: whoever proves it may do everything.
  std::string key;
  // Or named keys and certificate names with roles (then `key` is empty).
  std::optional<Acl> acl;
  // Neither: authentication is off (--no-auth), every call may do
  // everything.
};

// One call's claim: its metadata and, over mutual TLS, its certificate.
struct CallCredentials {
  const std::string* proof = nullptr;  // "mproc-auth-bin"; null: absent
  std::string user;                    // "mproc-user"
  std::string certificate_name;        // verified peer's common name
  std::string peer;                    // for the log
};

class Authenticator {
 public:
  explicit Authenticator(AuthConfig config);

  bool required() const { return !config_.key.empty() || config_.acl; }

  // The answer to Hello. INVALID_ARGUMENT for a client nonce of the wrong
  // size; UNAUTHENTICATED for a user the ACL does not list.
  // `peer` is only for the log.
  absl::Status Hello(const pb::HelloRequest& request, const std::string& peer,
                     pb::HelloResponse* response) const;

  // What the call may do: Access::Everything() if authentication is off;
  // else the Access of the key its proof answers an unexpired, unused
  // challenge of this manager with, or of the ACL entry naming its
  // certificate. UNAUTHENTICATED saying which check failed otherwise.
  absl::StatusOr<Access> Check(const CallCredentials& call) const;

  // How long a challenge may be answered.
  static constexpr absl::Duration kChallengeLifetime = absl::Seconds(60);

 private:
  struct Principal {
    StoredCredential credential;
    Access access;
  };
  // The key `user` proves: the lone key's (whatever the name), or the
  // ACL's entry; null if there is none.
  const Principal* Find(const std::string& user) const;
  absl::Status Refuse(const std::string& peer, absl::string_view why) const;
  // The MAC that makes a challenge this run's own.
  std::string ChallengeTag(absl::string_view random_and_time) const;

  // Constant after construction.
  const AuthConfig config_;
  const std::string secret_;  // random, of this run: challenges die with it
  std::optional<Principal> lone_;
  absl::flat_hash_map<std::string, Principal> users_;
  absl::flat_hash_map<std::string, Access> certificates_;

  mutable absl::Mutex mu_;
  // Challenges answered, with when they expire (steady-clock ms); the
  // deque in the order they were used, to forget them.
  mutable absl::flat_hash_set<std::string> used_ ABSL_GUARDED_BY(mu_);
  mutable std::deque<std::pair<int64_t, std::string>> used_order_
      ABSL_GUARDED_BY(mu_);
  mutable RateLimitedLog log_;
};

}  // namespace mproc

#endif  // MPROC_SERVER_RPC_AUTHENTICATOR_H_
