#include "client/internal/auth_handshake.h"

#include "absl/strings/str_cat.h"
#include "common/auth_proof.h"
#include "common/grpc_status.h"
#include "common/metadata.h"

namespace mproc {
namespace internal {

pb::HelloRequest NewHello(const std::string& user) {
  pb::HelloRequest hello;
  hello.set_client_nonce(RandomBytes(kClientNonceBytes));
  hello.set_user(user);
  return hello;
}

absl::Status ProveToManager(
    const std::string& address, const std::string& key, const std::string& user,
    const pb::HelloRequest& hello, const pb::HelloResponse& answer,
    std::vector<std::pair<std::string, std::string>>* metadata) {
  if (!answer.auth_required()) {
    return absl::UnauthenticatedError(absl::StrCat(
        "the manager at ", address,
        " runs without authentication (--no-auth), so it cannot prove it "
        "holds this client's authkey; refusing it (connect without a key to "
        "use it)"));
  }
  const ProofMessage message{user, hello.client_nonce(),
                             answer.manager_nonce()};
  if (!SecretEquals(answer.manager_proof(),
                    ManagerProof(DeriveCredential(key), message))) {
    return absl::UnauthenticatedError(absl::StrCat(
        "wrong authkey: the manager at ", address,
        " did not prove it holds this client's key (the keys differ, or it "
        "is not the manager meant)"));
  }
  CallProof proof;
  proof.manager_nonce = answer.manager_nonce();
  proof.client_nonce = hello.client_nonce();
  proof.proof = ClientProof(key, message);
  metadata->emplace_back(kAuthProofMetadata, EncodeCallProof(proof));
  if (!user.empty()) metadata->emplace_back(kUserMetadata, user);
  return absl::OkStatus();
}

absl::Status AuthenticateCall(pb::Manager::Stub* stub,
                              const std::string& address,
                              const std::string& key, const std::string& user,
                              absl::Time deadline,
                              grpc::ClientContext* context) {
  if (key.empty()) return absl::OkStatus();
  const pb::HelloRequest hello = NewHello(user);
  pb::HelloResponse answer;
  grpc::ClientContext hello_context;
  hello_context.set_deadline(absl::ToChronoTime(deadline));
  const grpc::Status called = stub->Hello(&hello_context, hello, &answer);
  if (called.error_code() == grpc::StatusCode::UNIMPLEMENTED) {
    return absl::UnauthenticatedError(
        absl::StrCat("the manager at ", address,
                     " does not know the authkey handshake (an older mproc?)"));
  }
  if (called.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
    return absl::UnavailableError(absl::StrCat(
        "manager at ", address, " did not answer the authkey handshake"));
  }
  if (!called.ok()) return FromGrpcStatus(called);
  std::vector<std::pair<std::string, std::string>> metadata;
  if (absl::Status proved =
          ProveToManager(address, key, user, hello, answer, &metadata);
      !proved.ok()) {
    return proved;
  }
  for (const auto& [name, value] : metadata) context->AddMetadata(name, value);
  return absl::OkStatus();
}

}  // namespace internal
}  // namespace mproc
