#include "common/auth_proof.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <cstdio>
#include <cstdlib>

#include "absl/strings/str_cat.h"

namespace mproc {
namespace {

constexpr char kManagerLabel[] = "mproc manager proof v1";
constexpr char kClientLabel[] = "mproc client proof v1";

std::string Hmac(absl::string_view key, absl::string_view label,
                 absl::string_view a, absl::string_view b) {
  std::string message = absl::StrCat(label, absl::string_view("\0", 1), a, b);
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int out_len = 0;
  // An empty key is still a key to HMAC; OpenSSL wants a non-null pointer.
  static const char kNoKey = 0;
  const char* key_data = key.empty() ? &kNoKey : key.data();
  if (HMAC(EVP_sha256(), key_data, static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(message.data()),
           message.size(), out, &out_len) == nullptr) {
    std::fprintf(stderr, "mproc: HMAC-SHA256 is not available\n");
    std::abort();
  }
  return std::string(reinterpret_cast<const char*>(out), out_len);
}

}  // namespace

std::string RandomBytes(size_t n) {
  std::string out(n, '\0');
  if (n > 0 && RAND_bytes(reinterpret_cast<unsigned char*>(out.data()),
                          static_cast<int>(n)) != 1) {
    std::fprintf(stderr, "mproc: the random number generator failed\n");
    std::abort();
  }
  return out;
}

std::string ManagerProof(absl::string_view key, absl::string_view client_nonce,
                         absl::string_view manager_nonce) {
  return Hmac(key, kManagerLabel, client_nonce, manager_nonce);
}

std::string ClientProof(absl::string_view key, absl::string_view manager_nonce,
                        absl::string_view client_nonce) {
  return Hmac(key, kClientLabel, manager_nonce, client_nonce);
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
