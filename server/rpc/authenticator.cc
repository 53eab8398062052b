#include "server/rpc/authenticator.h"

#include <chrono>
#include <cstdint>

#include "absl/strings/str_cat.h"
#include "common/auth_proof.h"

namespace mproc {
namespace {

constexpr size_t kRandomBytes = 16;
constexpr size_t kTimeBytes = 8;
constexpr size_t kTagBytes = 16;
constexpr size_t kChallengeBytes = kRandomBytes + kTimeBytes + kTagBytes;

// Challenges carry, and expire by, the steady clock: a wall clock stepped
// back must not bring a used challenge back to life. (They die with the
// run, so the clock need mean nothing outside it.)
int64_t SteadyMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string EncodeTime(int64_t millis) {
  uint64_t ms = static_cast<uint64_t>(millis);
  std::string out(kTimeBytes, '\0');
  for (size_t i = 0; i < kTimeBytes; ++i) {
    out[kTimeBytes - 1 - i] = static_cast<char>(ms & 0xff);
    ms >>= 8;
  }
  return out;
}

int64_t DecodeTime(absl::string_view bytes) {
  uint64_t ms = 0;
  for (char c : bytes) ms = (ms << 8) | static_cast<unsigned char>(c);
  return static_cast<int64_t>(ms);
}

}  // namespace

Authenticator::Authenticator(AuthConfig config)
    : config_(std::move(config)), secret_(RandomBytes(32)) {
  if (!config_.key.empty()) {
    lone_ = Principal{DeriveCredential(config_.key), Access::Everything()};
  }
  if (config_.acl) {
    for (const AclUser& user : config_.acl->users) {
      users_[user.access.principal] = Principal{user.credential, user.access};
    }
    for (const AclCertificate& cert : config_.acl->certificates) {
      certificates_[cert.access.principal] = cert.access;
    }
  }
}

const Authenticator::Principal* Authenticator::Find(
    const std::string& user) const {
  if (lone_) return &*lone_;
  auto it = users_.find(user);
  return it == users_.end() ? nullptr : &it->second;
}

std::string Authenticator::ChallengeTag(
    absl::string_view random_and_time) const {
  // A MAC nobody without this run's secret can forge.
  return HmacSha256(secret_, random_and_time).substr(0, kTagBytes);
}

absl::Status Authenticator::Hello(const pb::HelloRequest& request,
                                  const std::string& peer,
                                  pb::HelloResponse* response) const {
  response->set_auth_required(required());
  if (!required()) return absl::OkStatus();
  if (request.client_nonce().size() != kClientNonceBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("Hello: the client nonce must be ", kClientNonceBytes,
                     " bytes, not ", request.client_nonce().size()));
  }
  const Principal* principal = Find(request.user());
  if (principal == nullptr) {
    return Refuse(
        peer, absl::StrCat("this manager's ACL lists no user '", request.user(),
                           "' (give one with --user or MPROC_USER)"));
  }
  std::string challenge =
      absl::StrCat(RandomBytes(kRandomBytes), EncodeTime(SteadyMillis()));
  challenge += ChallengeTag(challenge);
  response->set_manager_proof(
      ManagerProof(principal->credential,
                   {request.user(), request.client_nonce(), challenge}));
  response->set_manager_nonce(std::move(challenge));
  return absl::OkStatus();
}

absl::StatusOr<Access> Authenticator::Check(const CallCredentials& call) const {
  if (!required()) return Access::Everything();
  if (call.proof == nullptr) {
    if (auto it = certificates_.find(call.certificate_name);
        !call.certificate_name.empty() && it != certificates_.end()) {
      return it->second;
    }
    return Refuse(call.peer,
                  "this manager requires an authkey (the call carried no "
                  "proof of one)");
  }
  CallProof proof;
  if (!DecodeCallProof(*call.proof, kChallengeBytes, &proof)) {
    return Refuse(call.peer, "the call's authkey proof is malformed");
  }
  const absl::string_view challenge = proof.manager_nonce;
  const absl::string_view signed_part =
      challenge.substr(0, kRandomBytes + kTimeBytes);
  if (!SecretEquals(challenge.substr(kRandomBytes + kTimeBytes),
                    ChallengeTag(signed_part))) {
    return Refuse(call.peer,
                  "the call answers a challenge this manager did not issue "
                  "(it restarted, or the proof is forged)");
  }
  const int64_t now = SteadyMillis();
  const int64_t expires =
      DecodeTime(challenge.substr(kRandomBytes, kTimeBytes)) +
      absl::ToInt64Milliseconds(kChallengeLifetime);
  if (now >= expires) {
    return Refuse(call.peer, "the authkey handshake expired; connect again");
  }
  const Principal* principal = Find(call.user);
  if (principal == nullptr) {
    return Refuse(call.peer, absl::StrCat("unknown user '", call.user, "'"));
  }
  if (!CheckClientProof(principal->credential,
                        {call.user, proof.client_nonce, proof.manager_nonce},
                        proof.proof)) {
    return Refuse(call.peer, "wrong authkey");
  }
  bool fresh;
  {
    absl::MutexLock l(&mu_);
    while (!used_order_.empty() && used_order_.front().first <= now) {
      used_.erase(used_order_.front().second);
      used_order_.pop_front();
    }
    fresh = used_.insert(proof.manager_nonce).second;
    if (fresh) used_order_.emplace_back(expires, proof.manager_nonce);
  }
  if (!fresh) {
    return Refuse(call.peer,
                  "the call's authkey proof was already used (a replayed "
                  "call)");
  }
  Access access = principal->access;
  if (lone_) access.principal = call.user;
  return access;
}

absl::Status Authenticator::Refuse(const std::string& peer,
                                   absl::string_view why) const {
  log_.Write("auth_refused",
             absl::StrCat("refused a call from ", peer, ": ", why));
  return absl::UnauthenticatedError(why);
}

}  // namespace mproc
