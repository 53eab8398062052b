// The handshake that proves a shared authkey without sending it, both
// ways, like Python's multiprocessing.connection (HMAC challenges) but
// mutual in one exchange:
//
//   client → manager   Hello{client_nonce}                       (no secret)
//   manager → client   manager_nonce, ManagerProof(key, client_nonce,
//                      manager_nonce)    — the client checks it before it
//                      sends anything that matters: an impostor without the
//                      key cannot answer a fresh client nonce;
//   client → manager   every call carries "mproc-auth-bin" metadata:
//                      manager_nonce | client_nonce | ClientProof(key, ...)
//                      — the manager accepts each manager nonce once, so a
//                      recorded call cannot be replayed.
//
// The proofs are HMAC-SHA256 with distinct labels, so one side's proof is
// never the other's. The key may hold any bytes.
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

// HMAC-SHA256 of `label` NUL `a` `b` under `key`.
std::string ManagerProof(absl::string_view key, absl::string_view client_nonce,
                         absl::string_view manager_nonce);
std::string ClientProof(absl::string_view key, absl::string_view manager_nonce,
                        absl::string_view client_nonce);

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
