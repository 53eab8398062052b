#include "common/value.h"

#include <cmath>

#include "absl/container/flat_hash_set.h"
#include "common/value_checks.h"
#include "common/value_codec.h"
#include "common/wire.h"
#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"

namespace mproc {
namespace {

TEST(Value, DefaultIsNull) {
  EXPECT_TRUE(Value().is_null());
  EXPECT_TRUE(Value(nullptr).is_null());
}

TEST(Value, ScalarConstructorsPickTheRightType) {
  EXPECT_TRUE(Value(true).is_bool());
  EXPECT_TRUE(Value(7).is_int());
  EXPECT_TRUE(Value(int64_t{7}).is_int());
  EXPECT_TRUE(Value(7u).is_int());
  EXPECT_TRUE(Value(2.5).is_double());
  EXPECT_TRUE(Value(2.5f).is_double());
  EXPECT_TRUE(Value("text").is_string());
  EXPECT_TRUE(Value(std::string("text")).is_string());
  EXPECT_TRUE(Value(Bytes{"\x00\x01"}).is_bytes());
}

TEST(Value, ContainersConvertFromStandardTypes) {
  Value list(std::vector<int>{1, 2, 3});
  ASSERT_TRUE(list.is_list());
  EXPECT_EQ(list.list_value().size(), 3u);
  Value map(std::map<std::string, double>{{"a", 1.5}});
  ASSERT_TRUE(map.is_map());
  EXPECT_EQ(map.map_value().at(Value("a")), Value(1.5));
}

TEST(Value, AsConvertsBackToStandardTypes) {
  Value v(std::map<std::string, std::vector<int>>{{"x", {1, 2}}});
  auto back = v.As<std::map<std::string, std::vector<int>>>();
  ASSERT_OK(back);
  EXPECT_EQ((*back)["x"], (std::vector<int>{1, 2}));
  EXPECT_EQ(*Value(3).As<double>(), 3.0);  // ints widen to double
  EXPECT_EQ(*Value(Value()).As<std::optional<int>>(), std::nullopt);
}

TEST(Value, AsRejectsWrongTypesAndOverflow) {
  EXPECT_CODE(Value("x").As<int>(), absl::StatusCode::kInvalidArgument);
  EXPECT_CODE(Value(2.5).As<int>(), absl::StatusCode::kInvalidArgument);
  EXPECT_CODE(Value(int64_t{1} << 40).As<int>(), absl::StatusCode::kOutOfRange);
  EXPECT_CODE(Value(-1).As<unsigned>(), absl::StatusCode::kOutOfRange);
}

TEST(Value, EqualityIsStructuralAndTypeStrict) {
  EXPECT_EQ(Value(List{1, "a"}), Value(List{1, "a"}));
  EXPECT_NE(Value(1), Value(1.0));
  EXPECT_NE(Value("a"), Value(Bytes{"a"}));
  EXPECT_NE(Value(List{1}), Value(List{1, 2}));
}

TEST(Value, CopiesAreDeep) {
  Value a(List{1, 2});
  Value b = a;
  b.mutable_list().push_back(3);
  EXPECT_EQ(a.list_value().size(), 2u);
  EXPECT_EQ(b.list_value().size(), 3u);
}

TEST(Value, HashAgreesWithEquality) {
  absl::flat_hash_set<Value> set = {Value(1),          Value(1.0),  Value("1"),
                                    Value(Bytes{"1"}), Value(true), Value()};
  EXPECT_EQ(set.size(), 6u);
  EXPECT_TRUE(set.contains(Value(1)));
  EXPECT_FALSE(set.contains(Value(2)));
  EXPECT_EQ(absl::Hash<Value>()(Value(List{1, "x"})),
            absl::Hash<Value>()(Value(List{1, "x"})));
}

TEST(Value, ToStringLooksLikePython) {
  EXPECT_EQ(Value().ToString(), "None");
  EXPECT_EQ(Value(true).ToString(), "True");
  EXPECT_EQ(Value(2.0).ToString(), "2.0");
  EXPECT_EQ(Value("it's").ToString(), "'it\\'s'");
  EXPECT_EQ(Value(Bytes{std::string("a\0", 2)}).ToString(), "b'a\\x00'");
  EXPECT_EQ(Value(Map{{"a", List{1, Value()}}}).ToString(), "{'a': [1, None]}");
}

TEST(Value, JsonRoundTripsEveryType) {
  Value v(Map{{"null", Value()},
              {"bool", true},
              {"int", int64_t{-9007199254740993}},
              {"double", 0.1},
              {"string", "tab\t\"quote\" ünï"},
              {"bytes", Bytes{std::string("\x00\xff", 2)}},
              {"list", List{1, 2.5, "x"}},
              {"opaque", Opaque{"pickle", std::string("\x80\x04K\x01.", 5)}}});
  absl::StatusOr<Value> back = Value::FromJson(v.ToJson());
  ASSERT_OK(back);
  EXPECT_EQ(*back, v) << v.ToJson();
}

TEST(Value, OpaqueValuesCompareByFormatAndBytesAndAreKeys) {
  const Value a(Opaque{"pickle", "x"});
  EXPECT_TRUE(a.is_opaque() && a.is_scalar());
  EXPECT_EQ(a, Value(Opaque{"pickle", "x"}));
  EXPECT_NE(a, Value(Opaque{"pickle", "y"}));
  EXPECT_NE(a, Value(Opaque{"other", "x"}));
  EXPECT_NE(a, Value(Bytes{"x"}));
  EXPECT_EQ(absl::HashOf(a), absl::HashOf(Value(Opaque{"pickle", "x"})));
  EXPECT_EQ(a.ToString(), "<pickle 1 bytes>");
  EXPECT_EQ(Map({{a, 1}}).count(Value(Opaque{"pickle", "x"})), 1u);
}

TEST(Value, JsonWritesDoublesThatStayDoubles) {
  EXPECT_EQ(Value(3.0).ToJson(), "3.0");
  EXPECT_TRUE(Value::FromJson("3.0")->is_double());
  EXPECT_TRUE(Value::FromJson("3")->is_int());
  EXPECT_TRUE(Value::FromJson("9223372036854775807")->is_int());
  EXPECT_TRUE(Value::FromJson("9223372036854775808.0")->is_double());
  EXPECT_TRUE(Value::FromJson("1e19")->is_double());
}

TEST(Value, JsonOutputIsAlwaysValidJsonInTypedForms) {
  EXPECT_EQ(Value(std::nan("")).ToJson(), R"({"$double": "NaN"})");
  EXPECT_EQ(Value(-HUGE_VAL).ToJson(), R"({"$double": "-Infinity"})");
  // An int key and a string key "1" would be one JSON key: typed form.
  EXPECT_EQ(Value(Map{{1, "int"}, {"1", "text"}}).ToJson(),
            R"({"$map": [[1, "int"], ["1", "text"]]})");
  // A real map that looks like a typed form is written as a $map too.
  EXPECT_EQ(Value(Map{{"$bytes", "AQ=="}}).ToJson(),
            R"({"$map": [["$bytes", "AQ=="]]})");
  EXPECT_EQ(Value(Map{{"a", 1}}).ToJson(), R"({"a": 1})");
  for (const Value& v :
       {Value(std::nan("")), Value(HUGE_VAL), Value(Map{{1, 2}, {"1", 3}}),
        Value(Map{{"$bytes", "AQ=="}}), Value(Map{{"$map", List{}}}),
        Value(Map{{Value(), List{Map{{2.5, true}}}}})}) {
    absl::StatusOr<Value> back = Value::FromJson(v.ToJson());
    ASSERT_OK(back) << v.ToJson();
    if (v.is_double()) {
      EXPECT_EQ(std::isnan(back->double_value()), std::isnan(v.double_value()));
      continue;
    }
    EXPECT_EQ(*back, v) << v.ToJson();
  }
}

TEST(Value, JsonParsesStrictly) {
  for (const char* bad : {"NaN",
                          "Infinity",
                          "[-Infinity]",
                          "007",
                          "[01]",
                          "-01",
                          "1e400",
                          "-1e400",
                          "9223372036854775808",
                          "[-9223372036854775809]",
                          "1.",
                          ".5",
                          "1e",
                          R"({"a": 1, "a": 2})",
                          R"({"$double": "nan"})",
                          R"({"$bytes": 5})",
                          R"({"$map": [[1]]})",
                          R"({"$map": [[[1], 2]]})",
                          R"({"$map": [[1, 2], [1, 3]]})",
                          R"("\ud800")",
                          R"("\udc00")",
                          R"("\ud800\u0041")",
                          "\"tab\there\""}) {
    EXPECT_CODE(Value::FromJson(bad), absl::StatusCode::kInvalidArgument)
        << bad;
  }
  absl::Status big = Value::FromJson("9223372036854775808").status();
  EXPECT_NE(big.message().find("write 9223372036854775808.0 for a double"),
            std::string::npos)
      << big;
  EXPECT_EQ(*Value::FromJson("0"), Value(0));
  EXPECT_EQ(*Value::FromJson("-0.5e-3"), Value(-0.5e-3));
}

TEST(Value, JsonParsesUnicodeEscapes) {
  EXPECT_EQ(*Value::FromJson(R"("\u00e9\ud83d\ude00")"),
            Value("\xc3\xa9\xf0\x9f\x98\x80"));
}

TEST(Value, JsonRejectsMalformedText) {
  EXPECT_CODE(Value::FromJson("{"), absl::StatusCode::kInvalidArgument);
  EXPECT_CODE(Value::FromJson("[1,]"), absl::StatusCode::kInvalidArgument);
  EXPECT_CODE(Value::FromJson("hello"), absl::StatusCode::kInvalidArgument);
  EXPECT_CODE(Value::FromJson("1 2"), absl::StatusCode::kInvalidArgument);
}

TEST(Value, ProtoRoundTripIsLossless) {
  Value v(Map{{Value(), 1},
              {false, 2},
              {3, List{Value(), 1.5, Bytes{"b"}}},
              {4.5, Map{{"nested", "deep"}}},
              {Bytes{"k"}, "bytes key"},
              {Opaque{"pickle", "(1, 2)"}, List{Opaque{"pickle", ""}}}});
  absl::StatusOr<Value> back = ValueFromProto(ValueToProto(v));
  ASSERT_OK(back);
  EXPECT_EQ(*back, v);
}

TEST(Value, ProtoRejectsNonScalarKeysAndDuplicates) {
  pb::Value wire;
  pb::MapEntry* e = wire.mutable_map_value()->add_entries();
  e->mutable_key()->mutable_list_value();
  EXPECT_CODE(ValueFromProto(wire), absl::StatusCode::kInvalidArgument);

  pb::Value dup;
  for (int i = 0; i < 2; ++i) {
    dup.mutable_map_value()->add_entries()->mutable_key()->set_int_value(1);
  }
  EXPECT_CODE(ValueFromProto(dup), absl::StatusCode::kInvalidArgument);
}

// One set of rules (common/value_checks.h) for both decoders: a value one
// of them refuses, the other refuses too.
TEST(Value, ProtoAndCodecDecodersRefuseTheSameValues) {
  Value deep = 1;
  for (int i = 0; i <= kMaxValueDepth; ++i) deep = Value(List{deep});
  Value at_limit = 1;
  for (int i = 0; i < kMaxValueDepth; ++i) at_limit = Value(List{at_limit});
  const Value list_key(Map{{Value(List{1}), 2}});
  const Value map_key(Map{{Value(Map{{1, 2}}), 3}});
  for (const Value& bad : {deep, list_key, map_key}) {
    std::string encoded;
    EncodeValue(bad, &encoded);
    EXPECT_CODE(DecodeValue(encoded), absl::StatusCode::kDataLoss);
    EXPECT_CODE(ValueFromProto(ValueToProto(bad)),
                absl::StatusCode::kInvalidArgument);
  }
  std::string encoded;
  EncodeValue(at_limit, &encoded);
  EXPECT_OK(DecodeValue(encoded));
  EXPECT_OK(ValueFromProto(ValueToProto(at_limit)));
  // Strings that are not UTF-8, alike.
  const Value latin1(std::string("caf\xe9"));
  std::string bad_text;
  EncodeValue(Value(List{latin1}), &bad_text);
  EXPECT_CODE(DecodeValue(bad_text), absl::StatusCode::kDataLoss);
  EXPECT_CODE(ValueFromProto(ValueToProto(Value(List{latin1}))),
              absl::StatusCode::kInvalidArgument);
}

TEST(Value, ProtoFormOfAnyDepthParsesWithinProtobufsOwnLimit) {
  // Protobuf refuses messages nested over 100 deep; a value at the depth
  // limit must still cross the wire, as its deep part travels encoded.
  Value at_limit = 1;
  for (int i = 0; i < kMaxValueDepth; ++i) {
    at_limit = i % 2 ? Value(List{at_limit}) : Value(Map{{"k", at_limit}});
  }
  std::string wire;
  ASSERT_TRUE(ValueToProto(at_limit).SerializeToString(&wire));
  pb::Value parsed;
  ASSERT_TRUE(parsed.ParseFromString(wire));
  absl::StatusOr<Value> back = ValueFromProto(parsed);
  ASSERT_OK(back);
  EXPECT_EQ(*back, at_limit);
  // The stored limit leaves room for every answer's wrapping.
  EXPECT_CODE(ValueFromProto(ValueToProto(at_limit), kMaxStoredValueDepth),
              absl::StatusCode::kInvalidArgument);
}

TEST(Value, CheckTextAcceptsUtf8Only) {
  for (const char* good : {"", "plain", "caf\xc3\xa9", "\xe2\x82\xac",
                           "\xf0\x9f\x98\x80", "\xf4\x8f\xbf\xbf"}) {
    EXPECT_OK(CheckText(good)) << good;
  }
  for (const char* bad :
       {"\xff", "caf\xe9", "\xc0\xaf", "\xe0\x80\xaf", "\xed\xa0\x80",
        "\xf4\x90\x80\x80", "\xc3", "\xe2\x82", "\x80"}) {
    EXPECT_CODE(CheckText(bad), absl::StatusCode::kInvalidArgument) << bad;
  }
}

}  // namespace
}  // namespace mproc
