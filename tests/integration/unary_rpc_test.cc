// The unary Call and Batch RPCs that tools (and other languages) use,
// through a plain gRPC stub.
#include <grpcpp/grpcpp.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/wire.h"
#include "proto/mproc.grpc.pb.h"
#include "tests/support/manager_fixture.h"
#include "tests/support/wire_requests.h"

namespace mproc {
namespace {

using testing::ManagerProcess;

using testing::MakeRequest;

class UnaryRpcTest : public testing::ManagerTest {
 protected:
  void SetUp() override {
    ManagerTest::SetUp();
    stub_ = pb::Manager::NewStub(grpc::CreateChannel(
        server_->address(), grpc::InsecureChannelCredentials()));
  }
  std::unique_ptr<pb::Manager::Stub> stub_;
};

TEST_F(UnaryRpcTest, CallRunsOneOperation) {
  grpc::ClientContext context;
  pb::Response response;
  pb::Request request = MakeRequest(pb::DICT_SET, UniqueName(), {"k", 7});
  request.set_id(42);
  ASSERT_TRUE(stub_->Call(&context, request, &response).ok());
  EXPECT_EQ(response.id(), 42u);
  EXPECT_EQ(response.code(), 0);
  auto d = manager_->Dict(UniqueName());
  ASSERT_OK(d);
  EXPECT_EQ(*d->Get("k"), Value(7));
}

TEST_F(UnaryRpcTest, CallReportsTheOperationsErrorInTheResponse) {
  grpc::ClientContext context;
  pb::Response response;
  ASSERT_TRUE(stub_
                  ->Call(&context,
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
    grpc::ClientContext context;
    pb::Response response;
    ASSERT_TRUE(stub_->Call(&context, request, &response).ok());
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
    grpc::ClientContext context;
    pb::ResponseFrame responses;
    ASSERT_TRUE(stub_->Batch(&context, frame, &responses).ok());
  }
  grpc::ClientContext context;
  pb::Response response;
  ASSERT_TRUE(
      stub_->Call(&context, MakeRequest(pb::LIST_OBJECTS, "", {}), &response)
          .ok());
  absl::StatusOr<Value> page = ValueFromProto(response.result());
  ASSERT_OK(page);
  EXPECT_EQ(page->list_value().size(), 1000u);
  // The next page starts after its last name.
  const Value last = page->list_value().back().map_value().at(Value("name"));
  grpc::ClientContext next_context;
  ASSERT_TRUE(stub_
                  ->Call(&next_context,
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
  grpc::ClientContext context;
  pb::ResponseFrame responses;
  ASSERT_TRUE(stub_->Batch(&context, frame, &responses).ok());
  ASSERT_EQ(responses.responses_size(), 4);
  EXPECT_EQ(*ValueFromProto(responses.responses(2).result()), Value(3));
  EXPECT_EQ(*ValueFromProto(responses.responses(3).result()),
            Value(List{0, 1, 2}));
}

TEST(UnaryRpcAuthTest, UnaryCallsNeedTheAuthkeyToo) {
  auto server = ManagerProcess::Start("127.0.0.1:0", {}, {"MPROC_AUTHKEY=k1"});
  ASSERT_OK(server);
  auto stub = pb::Manager::NewStub(grpc::CreateChannel(
      (*server)->address(), grpc::InsecureChannelCredentials()));
  pb::Request request = MakeRequest(pb::SERVER_INFO, "", {});
  pb::Response response;
  grpc::ClientContext without_key;
  EXPECT_EQ(stub->Call(&without_key, request, &response).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  grpc::ClientContext with_key;
  with_key.AddMetadata("mproc-authkey", "k1");
  EXPECT_TRUE(stub->Call(&with_key, request, &response).ok());
  pb::RequestFrame frame;
  pb::ResponseFrame responses;
  grpc::ClientContext batch_without_key;
  EXPECT_EQ(stub->Batch(&batch_without_key, frame, &responses).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
}

}  // namespace
}  // namespace mproc
