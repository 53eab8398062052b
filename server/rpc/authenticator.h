// The manager's side of the authkey handshake (common/auth_proof.h): it
// answers Hello with a fresh challenge and its own proof, and admits a
// call only with a client proof for one of its challenges, each accepted
// once. The key never crosses the wire; refusals are logged with the peer,
// at most one line a second.
//
// Challenges are stateless (a random part, the time, and a MAC under a
// secret of this run), so Hello costs no memory however often it is
// called; only challenges already used are remembered, until they expire.
// Thread-safe.
#ifndef MPROC_SERVER_RPC_AUTHENTICATOR_H_
#define MPROC_SERVER_RPC_AUTHENTICATOR_H_

#include <deque>
#include <string>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "proto/mproc.pb.h"

namespace mproc {

class Authenticator {
 public:
  // An empty key turns authentication off (--no-auth): every call is
  // admitted and Hello says no proof is needed.
  explicit Authenticator(std::string key);

  bool required() const { return !key_.empty(); }

  // The answer to Hello. INVALID_ARGUMENT for a client nonce of the wrong
  // size.
  absl::Status Hello(const pb::HelloRequest& request,
                     pb::HelloResponse* response) const;

  // OK if authentication is off or `proof` (the call's "mproc-auth-bin"
  // metadata; null when absent) answers an unexpired challenge of this
  // manager, unused so far, with the key. UNAUTHENTICATED saying which
  // check failed otherwise; `peer` is only for the log.
  absl::Status Check(const std::string* proof, const std::string& peer) const;

  // How long a challenge may be answered.
  static constexpr absl::Duration kChallengeLifetime = absl::Seconds(60);

 private:
  absl::Status Refuse(const std::string& peer, absl::string_view why) const;
  // The MAC that makes a challenge this run's own.
  std::string ChallengeTag(absl::string_view random_and_time) const;

  // Constant after construction.
  const std::string key_;
  const std::string secret_;  // random, of this run: challenges die with it

  mutable absl::Mutex mu_;
  // Challenges answered, with when they expire; the deque in the order
  // they were used, to forget them.
  mutable absl::flat_hash_set<std::string> used_ ABSL_GUARDED_BY(mu_);
  mutable std::deque<std::pair<absl::Time, std::string>> used_order_
      ABSL_GUARDED_BY(mu_);
  mutable absl::Time last_log_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  mutable int64_t unlogged_refusals_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace mproc

#endif  // MPROC_SERVER_RPC_AUTHENTICATOR_H_
