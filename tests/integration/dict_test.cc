// Every dict operation through a real manager.
#include <limits>
#include <thread>

#include "tests/support/manager_fixture.h"

namespace mproc {
namespace {

using testing::ManagerTest;
using DictTest = ManagerTest;

TEST_F(DictTest, SetThenGetReturnsTheValue) {
  auto d = manager_->Dict(UniqueName());
  ASSERT_OK(d);
  ASSERT_OK(d->Set("a", List{1, "x"}));
  EXPECT_EQ(*d->Get("a"), Value(List{1, "x"}));
}

TEST_F(DictTest, GetOfMissingKeyIsNotFoundUnlessDefaultGiven) {
  auto d = manager_->Dict(UniqueName());
  ASSERT_OK(d);
  absl::StatusOr<Value> missing = d->Get("nope");
  EXPECT_CODE(missing, absl::StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("nope"), absl::string_view::npos);
  EXPECT_EQ(*d->Get("nope", 42), Value(42));
}

TEST_F(DictTest, SameNameFromTwoClientsIsTheSameObject) {
  auto d1 = manager_->Dict(UniqueName(), Map{{"seed", 1}});
  ASSERT_OK(d1);
  auto other = Manager::Connect(server_->address());
  ASSERT_OK(other);
  auto d2 = (*other)->Dict(UniqueName(), Map{{"ignored", 2}});
  ASSERT_OK(d2);
  ASSERT_OK(d2->Set("b", 2));
  EXPECT_EQ(*d1->Items(), (Map{{"seed", 1}, {"b", 2}}));
}

TEST_F(DictTest, SetDefaultStoresOnlyWhenAbsent) {
  auto d = manager_->Dict(UniqueName());
  ASSERT_OK(d);
  EXPECT_EQ(*d->SetDefault("k", "first"), Value("first"));
  EXPECT_EQ(*d->SetDefault("k", "second"), Value("first"));
  EXPECT_EQ(*d->SetDefault("n"), Value());
  EXPECT_TRUE(*d->Contains("n"));
}

TEST_F(DictTest, PopRemovesAndReturns) {
  auto d = manager_->Dict(UniqueName(), Map{{"a", 1}});
  ASSERT_OK(d);
  EXPECT_EQ(*d->Pop("a"), Value(1));
  EXPECT_FALSE(*d->Contains("a"));
  EXPECT_CODE(d->Pop("a"), absl::StatusCode::kNotFound);
  EXPECT_EQ(*d->Pop("a", "dflt"), Value("dflt"));
}

TEST_F(DictTest, DeleteOfMissingKeyIsNotFound) {
  auto d = manager_->Dict(UniqueName(), Map{{"a", 1}});
  ASSERT_OK(d);
  ASSERT_OK(d->Delete("a"));
  EXPECT_CODE(d->Delete("a"), absl::StatusCode::kNotFound);
  EXPECT_EQ(*d->Len(), 0);
}

TEST_F(DictTest, KeysValuesItemsAgree) {
  Map entries{{"a", 1}, {2, "two"}, {Value(), true}, {Bytes{"b"}, 2.5}};
  auto d = manager_->Dict(UniqueName(), entries);
  ASSERT_OK(d);
  List keys = *d->Keys();
  List values = *d->Values();
  ASSERT_EQ(keys.size(), entries.size());
  ASSERT_EQ(values.size(), entries.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    EXPECT_EQ(entries.at(keys[i]), values[i]);  // same iteration order
  }
  EXPECT_EQ(*d->Items(), entries);
  EXPECT_EQ(*d->Len(), 4);
}

TEST_F(DictTest, UpdateAndClear) {
  auto d = manager_->Dict(UniqueName(), Map{{"a", 1}});
  ASSERT_OK(d);
  ASSERT_OK(d->Update(Map{{"a", 10}, {"b", 20}}));
  EXPECT_EQ(*d->Items(), (Map{{"a", 10}, {"b", 20}}));
  ASSERT_OK(d->Clear());
  EXPECT_EQ(*d->Len(), 0);
}

TEST_F(DictTest, GetManyReturnsOnlyPresentKeys) {
  auto d = manager_->Dict(UniqueName());
  ASSERT_OK(d);
  ASSERT_OK(d->SetMany(Map{{"a", 1}, {"b", 2}, {"c", 3}}));
  EXPECT_EQ(*d->GetMany(List{"a", "c", "zz"}), (Map{{"a", 1}, {"c", 3}}));
}

TEST_F(DictTest, AddCountsFromZeroAndKeepsIntsInts) {
  auto d = manager_->Dict(UniqueName());
  ASSERT_OK(d);
  EXPECT_EQ(*d->Add("n", 5), Value(5));
  EXPECT_EQ(*d->Add("n", -7), Value(-2));
  EXPECT_EQ(*d->Add("n", 0.5), Value(-1.5));
  EXPECT_EQ(*d->Add("f", 0.25), Value(0.25));
}

TEST_F(DictTest, AddToNonNumberOrWithNonNumberFails) {
  auto d = manager_->Dict(UniqueName(), Map{{"s", "text"}, {"n", 1}});
  ASSERT_OK(d);
  EXPECT_CODE(d->Add("s", 1), absl::StatusCode::kInvalidArgument);
  EXPECT_CODE(d->Add("n", "1"), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(*d->Get("s"), Value("text"));
}

TEST_F(DictTest, AddOverflowIsOutOfRange) {
  auto d = manager_->Dict(UniqueName(),
                          Map{{"big", std::numeric_limits<int64_t>::max()}});
  ASSERT_OK(d);
  EXPECT_CODE(d->Add("big", 1), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(*d->Get("big"), Value(std::numeric_limits<int64_t>::max()));
}

TEST_F(DictTest, NonScalarKeysAreRejected) {
  auto d = manager_->Dict(UniqueName());
  ASSERT_OK(d);
  absl::Status s = d->Set(List{1}, 1);
  EXPECT_CODE(s, absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find(UniqueName()), absl::string_view::npos) << s;
}

TEST_F(DictTest, StoredValuesAreCopies) {
  auto d = manager_->Dict(UniqueName(), Map{{"list", List{1}}});
  ASSERT_OK(d);
  Value local = *d->Get("list");
  local.mutable_list().push_back(2);  // Python's nested-proxy pitfall
  EXPECT_EQ(*d->Get("list"), Value(List{1}));
  ASSERT_OK(d->Set("list", local));  // writing back is explicit
  EXPECT_EQ(*d->Get("list"), Value(List{1, 2}));
}

TEST_F(DictTest, LargeValuesRoundTrip) {
  auto d = manager_->Dict(UniqueName());
  ASSERT_OK(d);
  const std::string big(8 << 20, 'x');  // over gRPC's 4 MiB default
  ASSERT_OK(d->Set("big", big));
  EXPECT_EQ(*d->Get("big"), Value(big));
}

TEST_F(DictTest, BatchRunsOperationsInOrder) {
  auto d = manager_->Dict(UniqueName());
  ASSERT_OK(d);
  BatchBuilder batch = manager_->NewBatch();
  for (int i = 0; i < 100; ++i) batch.Add(*d, "set", {i, i * i});
  batch.Add(*d, "len");
  batch.Add(*d, "get", {7});
  batch.Add(*d, "get", {1000});
  batch.Add(*d, "no_such_op");
  auto results = batch.Run();
  ASSERT_OK(results);
  ASSERT_EQ(results->size(), 104u);
  EXPECT_EQ(*(*results)[100], Value(100));
  EXPECT_EQ(*(*results)[101], Value(49));
  EXPECT_CODE((*results)[102], absl::StatusCode::kNotFound);
  EXPECT_CODE((*results)[103], absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(batch.size(), 0u);
}

TEST_F(DictTest, ManyThreadsShareOneManager) {
  auto d = manager_->Dict(UniqueName());
  ASSERT_OK(d);
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&d] {
      for (int i = 0; i < 250; ++i) ASSERT_OK(d->Add("n", 1));
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(*d->Get("n"), Value(2000));
}

}  // namespace
}  // namespace mproc
