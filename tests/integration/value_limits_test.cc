// Values at the edges of what the wire allows, through a real manager:
// the deepest storable value comes back through every op that returns it,
// a deeper one or a string that is not UTF-8 fails alone (the client
// refuses it; sent raw, the manager refuses that request and the stream
// lives on).
#include <grpcpp/grpcpp.h>

#include <string>

#include "absl/strings/match.h"
#include "common/metadata.h"
#include "common/value_checks.h"
#include "common/wire.h"
#include "proto/mproc.grpc.pb.h"
#include "tests/support/manager_fixture.h"
#include "tests/support/raw_calls.h"
#include "tests/support/wire_requests.h"

namespace mproc {
namespace {

using ValueLimitsTest = testing::ManagerTest;

// `levels` lists around an int.
Value Nested(int levels) {
  Value v(int64_t{7});
  for (int i = 0; i < levels; ++i) v = Value(List{v});
  return v;
}

TEST_F(ValueLimitsTest, ValueAtTheDepthLimitIsStoredAndReadBackByEveryOp) {
  const Value deepest = Nested(kMaxStoredValueDepth);
  absl::StatusOr<DictProxy> dict = manager_->Dict(UniqueName("-dict"));
  ASSERT_OK(dict);
  ASSERT_OK(dict->Set("k", deepest));
  EXPECT_EQ(*dict->Get("k"), deepest);
  absl::StatusOr<Map> items = dict->Items();
  ASSERT_OK(items);
  EXPECT_EQ(items->at(Value("k")), deepest);
  absl::StatusOr<List> values = dict->Values();
  ASSERT_OK(values);
  EXPECT_EQ((*values)[0], deepest);
  ASSERT_OK(dict->Update({{"u", deepest}}));
  EXPECT_EQ(*dict->Pop("u"), deepest);

  absl::StatusOr<ListProxy> list = manager_->List(UniqueName("-list"));
  ASSERT_OK(list);
  ASSERT_OK(list->Append(deepest));
  ASSERT_OK(list->Extend({deepest}));
  absl::StatusOr<List> slice = list->Slice(0, 2);
  ASSERT_OK(slice);
  EXPECT_EQ(*slice, (List{deepest, deepest}));
  EXPECT_EQ(*list->Pop(), deepest);

  absl::StatusOr<QueueProxy> queue = manager_->Queue(UniqueName("-queue"));
  ASSERT_OK(queue);
  ASSERT_OK(queue->Put(deepest));
  ASSERT_OK(queue->PutMany({deepest}));
  absl::StatusOr<List> got = queue->GetMany(2);
  ASSERT_OK(got);
  EXPECT_EQ(*got, (List{deepest, deepest}));

  absl::StatusOr<NamespaceProxy> ns = manager_->Namespace(UniqueName("-ns"));
  ASSERT_OK(ns);
  ASSERT_OK(ns->Set("a", deepest));
  absl::StatusOr<Map> attributes = ns->Items();
  ASSERT_OK(attributes);
  EXPECT_EQ(attributes->at(Value("a")), deepest);
}

TEST_F(ValueLimitsTest, DeeperValueIsRefusedAloneByTheClient) {
  absl::StatusOr<DictProxy> dict = manager_->Dict(UniqueName());
  ASSERT_OK(dict);
  absl::Status too_deep = dict->Set("k", Nested(kMaxStoredValueDepth + 1));
  EXPECT_CODE(too_deep, absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(too_deep.message(), "deeper")) << too_deep;
  EXPECT_TRUE(absl::StrContains(too_deep.message(), UniqueName())) << too_deep;
  EXPECT_OK(dict->Set("k", 1));  // the session is fine
  EXPECT_EQ(*dict->Len(), 1);
}

TEST_F(ValueLimitsTest, NonUtf8StringIsRefusedAloneByTheClient) {
  absl::StatusOr<DictProxy> dict = manager_->Dict(UniqueName());
  ASSERT_OK(dict);
  absl::Status bad = dict->Set("k", std::string("caf\xe9"));  // Latin-1
  EXPECT_CODE(bad, absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(bad.message(), "UTF-8")) << bad;
  EXPECT_OK(dict->Set("k", std::string("caf\xc3\xa9")));  // UTF-8
  EXPECT_OK(dict->Set("b", Bytes{"caf\xe9"}));            // bytes are bytes
}

// A raw Session stream sends what the client library would refuse.
TEST_F(ValueLimitsTest, BadRequestsFailAloneOnAWorkingSession) {
  auto stub = testing::RawStub(server_->address());
  grpc::ClientContext context;
  ASSERT_OK(
      testing::AuthenticateRawCall(stub.get(), server_->address(), &context));
  context.AddMetadata(kSessionMetadata, "raw-bad-input");
  auto stream = stub->Session(&context);
  const std::string name = UniqueName();
  auto request = [&](int id, pb::Op op, List args) {
    return testing::MakeRequest(op, name, args, id);
  };
  pb::RequestFrame frame;
  *frame.add_requests() =
      request(1, pb::DICT_SET, {"k", std::string("\xff\xfe")});
  *frame.add_requests() =
      request(2, pb::DICT_SET, {"deep", Nested(kMaxArgumentDepth + 1)});
  pb::Request bad_name = request(3, pb::DICT_SET, {"k", 1});
  bad_name.set_name("caf\xe9");
  *frame.add_requests() = bad_name;
  *frame.add_requests() = request(4, pb::DICT_SET, {"k", 1});
  *frame.add_requests() = request(5, pb::DICT_LEN, {});
  ASSERT_TRUE(stream->Write(frame));
  std::vector<pb::Response> answers;
  pb::ResponseFrame out;
  while (answers.size() < 5 && stream->Read(&out)) {
    for (const pb::Response& r : out.responses()) answers.push_back(r);
  }
  ASSERT_EQ(answers.size(), 5u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_CODE(StatusFromResponse(answers[i]),
                absl::StatusCode::kInvalidArgument);
  }
  EXPECT_TRUE(absl::StrContains(answers[0].message(), "UTF-8"));
  EXPECT_TRUE(absl::StrContains(answers[1].message(), "deeper"));
  EXPECT_EQ(answers[3].code(), 0);
  EXPECT_EQ(*ValueFromProto(answers[4].result()), Value(1));
  // The same stream keeps working.
  pb::RequestFrame again;
  *again.add_requests() = request(6, pb::DICT_LEN, {});
  ASSERT_TRUE(stream->Write(again));
  ASSERT_TRUE(stream->Read(&out));
  EXPECT_EQ(out.responses(0).id(), 6u);
}

}  // namespace
}  // namespace mproc
