#include "common/auth_proof.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <cstdio>
#include <cstdlib>

#include "absl/strings/str_cat.h"

namespace mproc {
namespace {

constexpr char kClientKeyLabel[] = "mproc client key v1";
constexpr char kServerKeyLabel[] = "mproc server key v1";
constexpr char kManagerProofLabel[] = "mproc manager proof v1";
constexpr char kClientProofLabel[] = "mproc client proof v1";

[[noreturn]] void CryptoFailed(const char* what) {
  std::fprintf(stderr, "mproc: %s failed in OpenSSL\n", what);
  std::abort();
}

std::string Sha256(absl::string_view data) {
  unsigned char out[SHA256_DIGEST_LENGTH];
  if (SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(),
             out) == nullptr) {
    CryptoFailed("SHA-256");
  }
  return std::string(reinterpret_cast<const char*>(out), sizeof(out));
}

// label NUL, then each part with its length, so no two messages collide.
std::string Encode(absl::string_view label, const ProofMessage& m) {
  std::string out = absl::StrCat(label, absl::string_view("\0", 1));
  for (absl::string_view part : {m.user, m.client_nonce, m.manager_nonce}) {
    absl::StrAppend(&out, part.size(), ":", part);
  }
  return out;
}

std::string Xor(absl::string_view a, absl::string_view b) {
  std::string out(a);
  for (size_t i = 0; i < out.size() && i < b.size(); ++i) out[i] ^= b[i];
  return out;
}

}  // namespace

std::string RandomBytes(size_t n) {
  std::string out(n, '\0');
  if (n > 0 && RAND_bytes(reinterpret_cast<unsigned char*>(out.data()),
                          static_cast<int>(n)) != 1) {
    CryptoFailed("the random number generator");
  }
  return out;
}

std::string HmacSha256(absl::string_view key, absl::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int out_len = 0;
  // An empty key is still a key to HMAC; OpenSSL wants a non-null pointer.
  static const char kNoKey = 0;
  const char* key_data = key.empty() ? &kNoKey : key.data();
  if (HMAC(EVP_sha256(), key_data, static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(),
           out, &out_len) == nullptr) {
    CryptoFailed("HMAC-SHA256");
  }
  return std::string(reinterpret_cast<const char*>(out), out_len);
}

StoredCredential DeriveCredential(absl::string_view key) {
  return {Sha256(HmacSha256(key, kClientKeyLabel)),
          HmacSha256(key, kServerKeyLabel)};
}

std::string ManagerProof(const StoredCredential& credential,
                         const ProofMessage& message) {
  return HmacSha256(credential.server_key, Encode(kManagerProofLabel, message));
}

std::string ClientProof(absl::string_view key, const ProofMessage& message) {
  const std::string client_key = HmacSha256(key, kClientKeyLabel);
  const std::string signature =
      HmacSha256(Sha256(client_key), Encode(kClientProofLabel, message));
  return Xor(client_key, signature);
}

bool CheckClientProof(const StoredCredential& credential,
                      const ProofMessage& message, absl::string_view proof) {
  if (proof.size() != kProofBytes) return false;
  const std::string signature =
      HmacSha256(credential.stored_key, Encode(kClientProofLabel, message));
  return SecretEquals(Sha256(Xor(proof, signature)), credential.stored_key);
}

bool SecretEquals(absl::string_view a, absl::string_view b) {
  return a.size() == b.size() &&
         CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string EncodeCallProof(const CallProof& proof) {
  return absl::StrCat(proof.manager_nonce, proof.client_nonce, proof.proof);
}

bool DecodeCallProof(absl::string_view value, size_t manager_nonce_bytes,
                     CallProof* proof) {
  if (value.size() != manager_nonce_bytes + kClientNonceBytes + kProofBytes) {
    return false;
  }
  proof->manager_nonce = std::string(value.substr(0, manager_nonce_bytes));
  proof->client_nonce =
      std::string(value.substr(manager_nonce_bytes, kClientNonceBytes));
  proof->proof = std::string(
      value.substr(manager_nonce_bytes + kClientNonceBytes, kProofBytes));
  return true;
}

}  // namespace mproc
