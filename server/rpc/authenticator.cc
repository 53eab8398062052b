#include "server/rpc/authenticator.h"

#include <cstdint>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "common/auth_proof.h"

namespace mproc {
namespace {

constexpr size_t kRandomBytes = 16;
constexpr size_t kTimeBytes = 8;
constexpr size_t kTagBytes = 16;
constexpr size_t kChallengeBytes = kRandomBytes + kTimeBytes + kTagBytes;

std::string EncodeTime(absl::Time t) {
  uint64_t ms = static_cast<uint64_t>(absl::ToUnixMillis(t));
  std::string out(kTimeBytes, '\0');
  for (size_t i = 0; i < kTimeBytes; ++i) {
    out[kTimeBytes - 1 - i] = static_cast<char>(ms & 0xff);
    ms >>= 8;
  }
  return out;
}

absl::Time DecodeTime(absl::string_view bytes) {
  uint64_t ms = 0;
  for (char c : bytes) ms = (ms << 8) | static_cast<unsigned char>(c);
  return absl::FromUnixMillis(static_cast<int64_t>(ms));
}

}  // namespace

Authenticator::Authenticator(std::string key)
    : key_(std::move(key)), secret_(RandomBytes(32)) {}

std::string Authenticator::ChallengeTag(
    absl::string_view random_and_time) const {
  // The client-proof function with this run's secret as its key: a MAC
  // nobody without the secret can forge.
  return ClientProof(secret_, random_and_time, "").substr(0, kTagBytes);
}

absl::Status Authenticator::Hello(const pb::HelloRequest& request,
                                  pb::HelloResponse* response) const {
  response->set_auth_required(required());
  if (!required()) return absl::OkStatus();
  if (request.client_nonce().size() != kClientNonceBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("Hello: the client nonce must be ", kClientNonceBytes,
                     " bytes, not ", request.client_nonce().size()));
  }
  std::string challenge =
      absl::StrCat(RandomBytes(kRandomBytes), EncodeTime(absl::Now()));
  challenge += ChallengeTag(challenge);
  response->set_manager_proof(
      ManagerProof(key_, request.client_nonce(), challenge));
  response->set_manager_nonce(std::move(challenge));
  return absl::OkStatus();
}

absl::Status Authenticator::Check(const std::string* proof,
                                  const std::string& peer) const {
  if (!required()) return absl::OkStatus();
  if (proof == nullptr) {
    return Refuse(peer,
                  "this manager requires an authkey (the call carried no "
                  "proof of one)");
  }
  CallProof call;
  if (!DecodeCallProof(*proof, kChallengeBytes, &call)) {
    return Refuse(peer, "the call's authkey proof is malformed");
  }
  const absl::string_view challenge = call.manager_nonce;
  const absl::string_view signed_part =
      challenge.substr(0, kRandomBytes + kTimeBytes);
  if (!SecretEquals(challenge.substr(kRandomBytes + kTimeBytes),
                    ChallengeTag(signed_part))) {
    return Refuse(peer,
                  "the call answers a challenge this manager did not issue "
                  "(it restarted, or the proof is forged)");
  }
  const absl::Time now = absl::Now();
  const absl::Time expires =
      DecodeTime(challenge.substr(kRandomBytes, kTimeBytes)) +
      kChallengeLifetime;
  if (now >= expires) {
    return Refuse(peer, "the authkey handshake expired; connect again");
  }
  if (!SecretEquals(call.proof,
                    ClientProof(key_, call.manager_nonce, call.client_nonce))) {
    return Refuse(peer, "wrong authkey");
  }
  bool fresh;
  {
    absl::MutexLock l(&mu_);
    while (!used_order_.empty() && used_order_.front().first <= now) {
      used_.erase(used_order_.front().second);
      used_order_.pop_front();
    }
    fresh = used_.insert(call.manager_nonce).second;
    if (fresh) used_order_.emplace_back(expires, call.manager_nonce);
  }
  if (!fresh) {
    return Refuse(
        peer, "the call's authkey proof was already used (a replayed call)");
  }
  return absl::OkStatus();
}

absl::Status Authenticator::Refuse(const std::string& peer,
                                   absl::string_view why) const {
  bool log = false;
  int64_t unlogged = 0;
  {
    absl::MutexLock l(&mu_);
    const absl::Time now = absl::Now();
    if (now - last_log_ >= absl::Seconds(1)) {
      log = true;
      last_log_ = now;
      unlogged = unlogged_refusals_;
      unlogged_refusals_ = 0;
    } else {
      ++unlogged_refusals_;
    }
  }
  if (log) {
    std::cerr << "mproc manager: refused a call from " << peer << ": " << why;
    if (unlogged > 0) std::cerr << " (and " << unlogged << " more not shown)";
    std::cerr << std::endl;
  }
  return absl::UnauthenticatedError(why);
}

}  // namespace mproc
