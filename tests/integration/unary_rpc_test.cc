// The unary Call and Batch RPCs that tools (and other languages) use,
// through a plain gRPC stub.
#include <grpcpp/grpcpp.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/auth_proof.h"
#include "common/metadata.h"
#include "common/wire.h"
#include "proto/mproc.grpc.pb.h"
#include "tests/support/manager_fixture.h"
#include "tests/support/raw_calls.h"
#include "tests/support/wire_requests.h"

namespace mproc {
namespace {

using testing::ManagerProcess;

using testing::AuthenticateRawCall;
using testing::MakeRequest;

class UnaryRpcTest : public testing::ManagerTest {
 protected:
  void SetUp() override {
    ManagerTest::SetUp();
    stub_ = testing::RawStub(server_->address());
  }
  // A context carrying the proof of the manager's key, for one call.
  std::unique_ptr<grpc::ClientContext> Authenticated() {
    auto context = std::make_unique<grpc::ClientContext>();
    EXPECT_OK(
        AuthenticateRawCall(stub_.get(), server_->address(), context.get()));
    return context;
  }
  std::unique_ptr<pb::Manager::Stub> stub_;
};

TEST_F(UnaryRpcTest, CallRunsOneOperation) {
  auto context = Authenticated();
  pb::Response response;
  pb::Request request = MakeRequest(pb::DICT_SET, UniqueName(), {"k", 7});
  request.set_id(42);
  ASSERT_TRUE(stub_->Call(context.get(), request, &response).ok());
  EXPECT_EQ(response.id(), 42u);
  EXPECT_EQ(response.code(), 0);
  auto d = manager_->Dict(UniqueName());
  ASSERT_OK(d);
  EXPECT_EQ(*d->Get("k"), Value(7));
}

TEST_F(UnaryRpcTest, CallReportsTheOperationsErrorInTheResponse) {
  auto context = Authenticated();
  pb::Response response;
  ASSERT_TRUE(stub_
                  ->Call(context.get(),
                         MakeRequest(pb::DICT_GET, UniqueName(), {"missing"}),
                         &response)
                  .ok());
  EXPECT_CODE(StatusFromResponse(response), absl::StatusCode::kNotFound);
}

TEST_F(UnaryRpcTest, UnaryCallsCannotTouchSessionOwnedState) {
  // A lock held by a session, and a semaphore's permits: a call with no
  // session can neither release nor mint them.
  absl::StatusOr<LockProxy> lock = manager_->Lock(UniqueName());
  ASSERT_OK(lock);
  ASSERT_TRUE(*lock->Acquire());
  absl::StatusOr<SemaphoreProxy> sem =
      manager_->Semaphore(UniqueName("-sem"), 0);
  ASSERT_OK(sem);
  const std::pair<pb::Request, const char*> calls[] = {
      {MakeRequest(pb::LOCK_RELEASE, UniqueName(), {int64_t{1}}), "lock"},
      {MakeRequest(pb::SEM_RELEASE, UniqueName("-sem"), {}), "semaphore"},
  };
  for (const auto& [request, what] : calls) {
    auto context = Authenticated();
    pb::Response response;
    ASSERT_TRUE(stub_->Call(context.get(), request, &response).ok());
    absl::Status status = StatusFromResponse(response);
    EXPECT_CODE(status, absl::StatusCode::kFailedPrecondition);
    EXPECT_TRUE(absl::StrContains(status.message(), "session")) << what;
  }
  EXPECT_TRUE(*lock->Locked());
  EXPECT_EQ(*sem->Value(), 0);
  ASSERT_OK(lock->Release());
}

TEST_F(UnaryRpcTest, ListObjectsAnswersOneBoundedPage) {
  pb::RequestFrame frame;
  for (int i = 0; i < 1500; ++i) {
    *frame.add_requests() = MakeRequest(
        pb::DICT_SET, UniqueName(absl::StrCat("-", 10000 + i)), {"k", i});
  }
  {
    auto context = Authenticated();
    pb::ResponseFrame responses;
    ASSERT_TRUE(stub_->Batch(context.get(), frame, &responses).ok());
  }
  auto context = Authenticated();
  pb::Response response;
  ASSERT_TRUE(stub_
                  ->Call(context.get(), MakeRequest(pb::LIST_OBJECTS, "", {}),
                         &response)
                  .ok());
  absl::StatusOr<Value> page = ValueFromProto(response.result());
  ASSERT_OK(page);
  EXPECT_EQ(page->list_value().size(), 1000u);
  // The next page starts after its last name.
  const Value last = page->list_value().back().map_value().at(Value("name"));
  auto next_context = Authenticated();
  ASSERT_TRUE(stub_
                  ->Call(next_context.get(),
                         MakeRequest(pb::LIST_OBJECTS, "", {last, 10}),
                         &response)
                  .ok());
  absl::StatusOr<Value> next = ValueFromProto(response.result());
  ASSERT_OK(next);
  ASSERT_EQ(next->list_value().size(), 10u);
  EXPECT_GT(next->list_value()[0].map_value().at(Value("name")).string_value(),
            last.string_value());
}

TEST_F(UnaryRpcTest, BatchRunsOperationsInOrder) {
  pb::RequestFrame frame;
  for (int i = 0; i < 3; ++i) {
    *frame.add_requests() = MakeRequest(pb::LIST_APPEND, UniqueName(), {i});
  }
  *frame.add_requests() = MakeRequest(pb::LIST_SLICE, UniqueName(), {});
  auto context = Authenticated();
  pb::ResponseFrame responses;
  ASSERT_TRUE(stub_->Batch(context.get(), frame, &responses).ok());
  ASSERT_EQ(responses.responses_size(), 4);
  EXPECT_EQ(*ValueFromProto(responses.responses(2).result()), Value(3));
  EXPECT_EQ(*ValueFromProto(responses.responses(3).result()),
            Value(List{0, 1, 2}));
}

TEST(UnaryRpcAuthTest, UnaryCallsNeedTheAuthkeyToo) {
  auto server = ManagerProcess::Start("127.0.0.1:0", {}, {"MPROC_AUTHKEY=k1"});
  ASSERT_OK(server);
  const std::string& address = (*server)->address();
  auto stub = testing::RawStub(address);
  pb::Request request = MakeRequest(pb::SERVER_INFO, "", {});
  pb::Response response;
  grpc::ClientContext without_key;
  EXPECT_EQ(stub->Call(&without_key, request, &response).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  // The key itself as metadata, as clients once sent it, proves nothing.
  grpc::ClientContext key_in_clear;
  key_in_clear.AddMetadata("mproc-authkey", "k1");
  EXPECT_EQ(stub->Call(&key_in_clear, request, &response).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  grpc::ClientContext with_key;
  ASSERT_OK(AuthenticateRawCall(stub.get(), address, &with_key, "k1"));
  EXPECT_TRUE(stub->Call(&with_key, request, &response).ok());
  pb::RequestFrame frame;
  pb::ResponseFrame responses;
  grpc::ClientContext batch_without_key;
  EXPECT_EQ(stub->Batch(&batch_without_key, frame, &responses).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
}

// A proof answers one challenge: the same proof on a second call (a
// recorded call played again) is refused, and the call does not run.
TEST(UnaryRpcAuthTest, AProofServesOneCallOnly) {
  auto server = ManagerProcess::Start("127.0.0.1:0", {}, {"MPROC_AUTHKEY=k2"});
  ASSERT_OK(server);
  const std::string& address = (*server)->address();
  auto stub = testing::RawStub(address);
  pb::HelloRequest hello;
  hello.set_client_nonce(RandomBytes(kClientNonceBytes));
  pb::HelloResponse challenge;
  grpc::ClientContext hello_context;
  ASSERT_TRUE(stub->Hello(&hello_context, hello, &challenge).ok());
  ASSERT_TRUE(challenge.auth_required());
  const ProofMessage message{"", hello.client_nonce(),
                             challenge.manager_nonce()};
  EXPECT_EQ(challenge.manager_proof(),
            ManagerProof(DeriveCredential("k2"), message));
  CallProof proof{challenge.manager_nonce(), hello.client_nonce(),
                  ClientProof("k2", message)};
  const pb::Request add = MakeRequest(pb::DICT_ADD, "replayed", {"n", 1});
  pb::Response response;
  grpc::ClientContext first;
  first.AddMetadata(kAuthProofMetadata, EncodeCallProof(proof));
  ASSERT_TRUE(stub->Call(&first, add, &response).ok());
  grpc::ClientContext replayed;
  replayed.AddMetadata(kAuthProofMetadata, EncodeCallProof(proof));
  EXPECT_EQ(stub->Call(&replayed, add, &response).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  // A proof made with another key fails too.
  grpc::ClientContext forged;
  proof.proof = ClientProof("k3", message);
  forged.AddMetadata(kAuthProofMetadata, EncodeCallProof(proof));
  EXPECT_EQ(stub->Call(&forged, add, &response).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  ConnectOptions options;
  options.authkey = "k2";
  auto m = Manager::Connect(address, options);
  ASSERT_OK(m);
  auto d = (*m)->Dict("replayed");
  ASSERT_OK(d);
  EXPECT_EQ(*d->Get("n"), Value(1));  // the add ran once
}

}  // namespace
}  // namespace mproc
