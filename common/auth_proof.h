// The handshake that proves a key without sending it, both ways — SCRAM's
// scheme (RFC 5802) over HMAC-SHA256, with random keys instead of
// passwords (so no salt or iterations):
//
//   ClientKey = HMAC(key, "mproc client key v1"), StoredKey = SHA256(ClientKey)
//   ServerKey = HMAC(key, "mproc server key v1")
//
//   client → manager   Hello{user, client_nonce}                 (no secret)
//   manager → client   manager_nonce, ManagerProof = HMAC(ServerKey, message)
//                      — the client checks it before it sends anything that
//                      matters: an impostor without the key cannot answer a
//                      fresh client nonce;
//   client → manager   every call carries "mproc-auth-bin" metadata:
//                      manager_nonce | client_nonce |
//                      ClientKey XOR HMAC(StoredKey, message)
//                      — the manager recovers ClientKey and checks its hash
//                      against StoredKey, and accepts each manager nonce
//                      once, so a recorded call cannot be replayed.
//
// A manager needs only a key's StoredKey and ServerKey (what an ACL file
// holds): reading them does not let anyone pose as the client. The message
// binds the user name and both nonces. A key may hold any bytes.
#ifndef MPROC_COMMON_AUTH_PROOF_H_
#define MPROC_COMMON_AUTH_PROOF_H_

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"

namespace mproc {

inline constexpr size_t kClientNonceBytes = 32;
inline constexpr size_t kProofBytes = 32;  // SHA-256

// `n` bytes from OpenSSL's CSPRNG. Aborts if it cannot be seeded (nothing
// secure can be done then).
std::string RandomBytes(size_t n);

// What a manager keeps of a key.
struct StoredCredential {
  std::string stored_key;  // SHA256(ClientKey)
  std::string server_key;
};
StoredCredential DeriveCredential(absl::string_view key);

// Both proofs cover this: the user, then the two nonces.
struct ProofMessage {
  absl::string_view user;
  absl::string_view client_nonce;
  absl::string_view manager_nonce;
};

// The manager's proof, made from what it stores; the client makes the same
// from its key (DeriveCredential) to compare.
std::string ManagerProof(const StoredCredential& credential,
                         const ProofMessage& message);
// The client's proof, from its key.
std::string ClientProof(absl::string_view key, const ProofMessage& message);
// Whether `proof` shows the key behind `credential`.
bool CheckClientProof(const StoredCredential& credential,
                      const ProofMessage& message, absl::string_view proof);

// HMAC-SHA256 of `data` under `key` (also the challenges' MAC).
std::string HmacSha256(absl::string_view key, absl::string_view data);

// Compares in time that depends only on the lengths.
bool SecretEquals(absl::string_view a, absl::string_view b);

// The "mproc-auth-bin" metadata value and its parts.
struct CallProof {
  std::string manager_nonce;
  std::string client_nonce;
  std::string proof;
};
std::string EncodeCallProof(const CallProof& proof);
// False if `value` is not a well-formed proof for manager nonces of
// `manager_nonce_bytes`.
bool DecodeCallProof(absl::string_view value, size_t manager_nonce_bytes,
                     CallProof* proof);

}  // namespace mproc

#endif  // MPROC_COMMON_AUTH_PROOF_H_
