// Namespace attributes and object management through a real manager.
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "tests/support/manager_fixture.h"

namespace mproc {
namespace {

using NamespaceAndObjectsTest = testing::ManagerTest;

TEST_F(NamespaceAndObjectsTest, NamespaceAttributesBehaveLikePython) {
  auto ns = manager_->Namespace(UniqueName());
  ASSERT_OK(ns);
  ASSERT_OK(ns->Set("x", 1));
  ASSERT_OK(ns->Set("y", "two"));
  EXPECT_EQ(*ns->Get("x"), Value(1));
  EXPECT_EQ(*ns->Items(), (Map{{"x", 1}, {"y", "two"}}));
  ASSERT_OK(ns->Delete("x"));
  EXPECT_CODE(ns->Get("x"), absl::StatusCode::kNotFound);
  EXPECT_CODE(ns->Delete("x"), absl::StatusCode::kNotFound);
}

TEST_F(NamespaceAndObjectsTest, ObjectsListsKindNameAndSize) {
  ASSERT_OK(manager_->Dict(UniqueName("d"), Map{{"a", 1}, {"b", 2}}));
  ASSERT_OK(manager_->List(UniqueName("l"), List{1, 2, 3}));
  ASSERT_OK(manager_->Array(UniqueName("a"), "i", 5));
  auto objects = manager_->Objects();
  ASSERT_OK(objects);
  std::map<std::string, std::pair<std::string, int64_t>> seen;
  for (const ObjectInfo& o : *objects) seen[o.name] = {o.kind, o.size};
  EXPECT_EQ(seen[UniqueName("d")],
            std::make_pair(std::string("dict"), int64_t{2}));
  EXPECT_EQ(seen[UniqueName("l")],
            std::make_pair(std::string("list"), int64_t{3}));
  EXPECT_EQ(seen[UniqueName("a")],
            std::make_pair(std::string("array"), int64_t{5}));
}

TEST_F(NamespaceAndObjectsTest, ObjectsAreListedInBoundedPagesAndAllReturned) {
  // 2,500 objects: three pages of the manager's listing, which the client
  // walks for Objects().
  const std::string prefix = UniqueName("-");
  BatchBuilder batch = manager_->NewBatch();
  std::vector<std::string> names;
  for (int i = 0; i < 2500; ++i) {
    names.push_back(absl::StrCat(prefix, absl::Dec(i, absl::kZeroPad4)));
    batch.Add("dict", names.back(), "set", {"k", i});
  }
  absl::StatusOr<std::vector<absl::StatusOr<Value>>> ran = batch.Run();
  ASSERT_OK(ran);
  absl::StatusOr<std::vector<ObjectInfo>> objects = manager_->Objects();
  ASSERT_OK(objects);
  std::vector<std::string> listed;
  for (const ObjectInfo& o : *objects) {
    if (absl::StartsWith(o.name, prefix)) listed.push_back(o.name);
  }
  EXPECT_EQ(listed, names);  // every one, once, in name order
  for (size_t i = 1; i < objects->size(); ++i) {
    EXPECT_LT((*objects)[i - 1].name, (*objects)[i].name);
  }
  for (const std::string& name : names) ASSERT_OK(manager_->DeleteObject(name));
}

TEST_F(NamespaceAndObjectsTest, DeleteObjectRemovesIt) {
  auto d = manager_->Dict(UniqueName(), Map{{"a", 1}});
  ASSERT_OK(d);
  ASSERT_OK(manager_->DeleteObject(UniqueName()));
  EXPECT_CODE(manager_->DeleteObject(UniqueName()),
              absl::StatusCode::kNotFound);
  // The name is free again, even for another kind.
  ASSERT_OK(manager_->List(UniqueName()));
}

TEST_F(NamespaceAndObjectsTest, InfoReportsVersionInstanceAndUptime) {
  auto info = manager_->Info();
  ASSERT_OK(info);
  EXPECT_FALSE(info->version.empty());
  EXPECT_EQ(info->instance_id.size(), 16u);
  EXPECT_EQ(info->instance_id, manager_->instance_id());
  EXPECT_GE(info->uptime_seconds, 0.0);
  EXPECT_GE(info->objects, 0);
}

TEST_F(NamespaceAndObjectsTest, ReadsDoNotCreateObjectsButWritesDo) {
  BatchBuilder batch = manager_->NewBatch();
  batch.Add("dict", UniqueName(), "len");
  batch.Add("dict", UniqueName(), "get", {"k"});
  batch.Add("list", UniqueName("l"), "slice");
  auto results = batch.Run();
  ASSERT_OK(results);
  EXPECT_EQ(*(*results)[0], Value(0));
  EXPECT_CODE((*results)[1], absl::StatusCode::kNotFound);
  EXPECT_EQ(*(*results)[2], Value(List{}));
  auto count = [&] {
    int n = 0;
    absl::StatusOr<std::vector<ObjectInfo>> objects = manager_->Objects();
    for (const ObjectInfo& o : *objects) {
      n += o.name == UniqueName() || o.name == UniqueName("l");
    }
    return n;
  };
  EXPECT_EQ(count(), 0);
  BatchBuilder write = manager_->NewBatch();
  write.Add("dict", UniqueName(), "set", {"k", 1});
  write.Add("dict", UniqueName(), "get", {"k"});
  auto written = write.Run();
  ASSERT_OK(written);
  EXPECT_EQ(*(*written)[1], Value(1));
  EXPECT_EQ(count(), 1);
}

TEST_F(NamespaceAndObjectsTest, ANameBelongsToOneKind) {
  ASSERT_OK(manager_->Dict(UniqueName()));
  absl::StatusOr<ListProxy> as_list = manager_->List(UniqueName());
  EXPECT_CODE(as_list, absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(as_list.status().message().find("is a dict, not a list"),
            absl::string_view::npos)
      << as_list.status();
}

}  // namespace
}  // namespace mproc
