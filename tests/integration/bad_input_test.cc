// Bad input gets a precise status naming the object and the fault, and the
// manager keeps serving.
#include <optional>

#include "common/wire.h"
#include "tests/support/manager_fixture.h"

namespace mproc {
namespace {

using BadInputTest = testing::ManagerTest;

TEST_F(BadInputTest, EmptyNameIsInvalid) {
  EXPECT_CODE(manager_->Dict(""), absl::StatusCode::kInvalidArgument);
}

TEST_F(BadInputTest, OverlongNameIsInvalid) {
  EXPECT_OK(manager_->Dict(std::string(256, 'n')));
  absl::StatusOr<DictProxy> d = manager_->Dict(std::string(257, 'n'));
  EXPECT_CODE(d, absl::StatusCode::kInvalidArgument);
  EXPECT_NE(d.status().message().find("257 bytes"), absl::string_view::npos);
}

TEST_F(BadInputTest, NonPrintableNameIsInvalid) {
  EXPECT_CODE(manager_->Dict("tab\tname"), absl::StatusCode::kInvalidArgument);
  EXPECT_CODE(manager_->List(std::string("nul\0", 4)),
              absl::StatusCode::kInvalidArgument);
}

TEST_F(BadInputTest, WrongKindIsFailedPrecondition) {
  auto l = manager_->List(UniqueName(), List{1});
  ASSERT_OK(l);
  BatchBuilder batch = manager_->NewBatch();
  batch.Add("dict", UniqueName(), "get", {"k"});
  auto results = batch.Run();
  ASSERT_OK(results);
  EXPECT_CODE((*results)[0], absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(*l->Len(), 1);  // untouched
}

TEST_F(BadInputTest, WrongArityNamesTheOperation) {
  ASSERT_OK(manager_->Dict(UniqueName()));
  BatchBuilder batch = manager_->NewBatch();
  batch.Add("dict", UniqueName(), "set", {"only-key"});
  auto results = batch.Run();
  ASSERT_OK(results);
  EXPECT_CODE((*results)[0], absl::StatusCode::kInvalidArgument);
  EXPECT_NE((*results)[0].status().message().find("set takes 2 argument"),
            absl::string_view::npos)
      << (*results)[0].status();
}

// A manager whose message limit is 64 KiB, a client, and a dict on it.
class SmallLimitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = testing::ManagerProcess::Start(
        "127.0.0.1:0", {"--max-message-bytes", "65536"});
    ASSERT_OK(server);
    server_ = *std::move(server);
    auto manager = Manager::Connect(server_->address());
    ASSERT_OK(manager);
    m_ = *std::move(manager);
    auto dict = m_->Dict("d");
    ASSERT_OK(dict);
    d_.emplace(*std::move(dict));
  }

  std::unique_ptr<testing::ManagerProcess> server_;
  std::unique_ptr<Manager> m_;
  std::optional<DictProxy> d_;
};

TEST_F(SmallLimitTest, OversizedRequestIsResourceExhaustedAndSessionSurvives) {
  EXPECT_CODE(d_->Set("big", std::string(100000, 'x')),
              absl::StatusCode::kResourceExhausted);
  ASSERT_OK(d_->Set("small", std::string(1000, 'x')));
  EXPECT_EQ(m_->instance_changes(), 0);
  EXPECT_EQ(*d_->Len(), 1);
}

TEST_F(SmallLimitTest, BatchLargerThanTheLimitIsSplitNotRefused) {
  BatchBuilder batch = m_->NewBatch();
  for (int i = 0; i < 20; ++i) {  // 20 x 10 KB: each fits, together not
    batch.Add(*d_, "set", {i, std::string(10000, 'x')});
  }
  auto results = batch.Run();
  ASSERT_OK(results);
  for (const auto& r : *results) EXPECT_OK(r);
  EXPECT_EQ(*d_->Len(), 20);
  EXPECT_EQ(m_->instance_changes(), 0);
}

TEST_F(BadInputTest, ManagerKeepsServingAfterEveryError) {
  auto d = manager_->Dict(UniqueName(), Map{{"k", 1}});
  ASSERT_OK(d);
  for (int i = 0; i < 20; ++i) {
    EXPECT_CODE(d->Get("missing"), absl::StatusCode::kNotFound);
    EXPECT_CODE(d->Add("k", "x"), absl::StatusCode::kInvalidArgument);
    EXPECT_CODE(manager_->Value(UniqueName("v"), "nope"),
                absl::StatusCode::kInvalidArgument);
  }
  EXPECT_EQ(*d->Get("k"), Value(1));
  EXPECT_EQ(manager_->instance_changes(), 0);
}

}  // namespace
}  // namespace mproc
