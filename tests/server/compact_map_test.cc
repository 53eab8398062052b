// CompactMap: a dict's storage as encoded bytes behaves as a map of Values.
#include "server/compact_map.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace mproc {
namespace {

TEST(CompactMapTest, SetFindOverwriteWithValuesOfEverySize) {
  CompactMap m;
  EXPECT_FALSE(m.Find("k").has_value());
  m.Set("k", 1);
  EXPECT_EQ(*m.Find("k"), Value(1));
  m.Set("k", 2);  // same encoded size: rewritten in place
  EXPECT_EQ(*m.Find("k"), Value(2));
  m.Set("k", std::string(1000, 'x'));  // larger: a new entry
  EXPECT_EQ(*m.Find("k"), Value(std::string(1000, 'x')));
  m.Set("k", List{1, "two", Map{{Value("three"), Value(3.0)}}});
  EXPECT_EQ(*m.Find("k"),
            Value(List{1, "two", Map{{Value("three"), Value(3.0)}}}));
  EXPECT_EQ(m.size(), 1u);
}

TEST(CompactMapTest, KeysOfDifferentTypesAreDifferentKeys) {
  CompactMap m;
  m.Set(1, "int");
  m.Set(1.0, "double");
  m.Set("1", "string");
  m.Set(true, "bool");
  EXPECT_EQ(m.size(), 4u);
  EXPECT_EQ(*m.Find(1), Value("int"));
  EXPECT_EQ(*m.Find(1.0), Value("double"));
  EXPECT_EQ(*m.Find("1"), Value("string"));
  EXPECT_EQ(*m.Find(true), Value("bool"));
}

TEST(CompactMapTest, ZeroAndNegativeZeroAreOneKey) {
  CompactMap m;
  m.Set(-0.0, "a");
  m.Set(0.0, "b");
  EXPECT_EQ(m.size(), 1u);
  EXPECT_EQ(*m.Find(-0.0), Value("b"));
}

TEST(CompactMapTest, SetDefaultTakeEraseClear) {
  CompactMap m;
  EXPECT_EQ(m.SetDefault("k", 5), Value(5));
  EXPECT_EQ(m.SetDefault("k", 6), Value(5));
  EXPECT_TRUE(m.Contains("k"));
  EXPECT_EQ(*m.Take("k"), Value(5));
  EXPECT_FALSE(m.Take("k").has_value());
  EXPECT_FALSE(m.Erase("k"));
  m.Set("a", 1);
  EXPECT_TRUE(m.Erase("a"));
  EXPECT_EQ(m.size(), 0u);
  for (int i = 0; i < 100; ++i) m.Set(i, i);
  m.Clear();
  EXPECT_EQ(m.size(), 0u);
  EXPECT_FALSE(m.Contains(3));
}

TEST(CompactMapTest, ManyEntriesAllFoundAndVisitedOnceInOneOrder) {
  CompactMap m;
  constexpr int kN = 100000;
  for (int i = 0; i < kN; ++i) m.Set("key:" + std::to_string(i), i);
  for (int i = 0; i < kN; i += 997) {
    EXPECT_EQ(*m.Find("key:" + std::to_string(i)), Value(i));
  }
  std::vector<Value> keys, again;
  int64_t sum = 0;
  m.ForEach([&](Value k, Value v) {
    keys.push_back(std::move(k));
    sum += v.int_value();
  });
  m.ForEach([&](Value k, Value) { again.push_back(std::move(k)); });
  EXPECT_EQ(keys.size(), static_cast<size_t>(kN));
  EXPECT_EQ(keys, again);
  EXPECT_EQ(sum, int64_t{kN} * (kN - 1) / 2);
}

}  // namespace
}  // namespace mproc
