#include "common/value_codec.h"

#include <cmath>
#include <fstream>
#include <iterator>
#include <limits>
#include <string>

#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"

namespace mproc {
namespace {

Value RoundTrip(const Value& v) {
  std::string encoded;
  EncodeValue(v, &encoded);
  absl::StatusOr<Value> decoded = DecodeValue(encoded);
  EXPECT_OK(decoded);
  return decoded.ok() ? *decoded : Value("decode failed");
}

TEST(ValueCodecTest, EveryTypeRoundTrips) {
  const int64_t kMin = std::numeric_limits<int64_t>::min();
  const int64_t kMax = std::numeric_limits<int64_t>::max();
  for (const Value& v :
       {Value(), Value(true), Value(false), Value(0), Value(-1), Value(kMin),
        Value(kMax), Value(0.0), Value(-2.5), Value(1e300), Value(""),
        Value("héllo"), Value(Bytes{std::string("\0\xff", 2)}), Value(List{}),
        Value(Map{}), Value(Opaque{"pickle", std::string("\0\x80", 2)}),
        Value(Map{{Opaque{"f", ""}, 1}}),
        Value(Map{{1, "one"}, {"two", List{2.0, nullptr}}, {false, Map{}}})}) {
    EXPECT_EQ(RoundTrip(v), v) << v.ToString();
  }
  EXPECT_TRUE(std::isnan(RoundTrip(Value(std::nan(""))).double_value()));
}

TEST(ValueCodecTest, DeepNestingWithinTheLimitRoundTrips) {
  Value v = 1;
  for (int i = 0; i < kMaxValueDepth; ++i) v = Value(List{v});
  EXPECT_EQ(RoundTrip(v), v);
}

TEST(ValueCodecTest, NestingBeyondTheLimitIsDataLoss) {
  std::string encoded;
  for (int i = 0; i < kMaxValueDepth + 2; ++i) encoded += "\x07\x01";  // [[...
  encoded.push_back(0);                                                // null
  EXPECT_CODE(DecodeValue(encoded), absl::StatusCode::kDataLoss);
}

TEST(ValueCodecTest, CorruptInputIsDataLoss) {
  std::string good;
  EncodeValue(Value(List{"abc", 12345, 2.5}), &good);
  for (size_t cut = 0; cut < good.size(); ++cut) {
    EXPECT_CODE(DecodeValue(good.substr(0, cut)), absl::StatusCode::kDataLoss)
        << "truncated at " << cut;
  }
  EXPECT_CODE(DecodeValue(good + "x"), absl::StatusCode::kDataLoss);
  EXPECT_CODE(DecodeValue("\x63"), absl::StatusCode::kDataLoss);
  // A list claiming more items than there are bytes is refused up front.
  EXPECT_CODE(DecodeValue(std::string("\x07\xff\xff\xff\xff\x0f", 6)),
              absl::StatusCode::kDataLoss);
}

std::string Encode(const Value& v) {
  std::string out;
  EncodeValue(v, &out);
  return out;
}

TEST(ValueCodecTest, AMapAsAMapKeyIsRefusedBeforeItIsRead) {
  // {{}: 1}: map of one entry whose key is an empty map.
  const std::string encoded("\x08\x01\x08\x00\x03\x02", 6);
  absl::StatusOr<Value> decoded = DecodeValue(encoded);
  EXPECT_CODE(decoded, absl::StatusCode::kDataLoss);
  EXPECT_NE(decoded.status().message().find("map keys must be scalars"),
            absl::string_view::npos)
      << decoded.status();
  EXPECT_NE(decoded.status().message().find("at byte 2"),
            absl::string_view::npos)
      << decoded.status();
}

TEST(ValueCodecTest, AListAsAMapKeyIsRefused) {
  const std::string encoded("\x08\x01\x07\x00\x00", 5);  // {[]: null}
  EXPECT_CODE(DecodeValue(encoded), absl::StatusCode::kDataLoss);
}

TEST(ValueCodecTest, ARepeatedMapKeyIsRefused) {
  // {1: null, 1: null}
  const std::string encoded("\x08\x02\x03\x02\x00\x03\x02\x00", 8);
  absl::StatusOr<Value> decoded = DecodeValue(encoded);
  EXPECT_CODE(decoded, absl::StatusCode::kDataLoss);
  EXPECT_NE(decoded.status().message().find("occurs twice"),
            absl::string_view::npos)
      << decoded.status();
}

TEST(ValueCodecTest, MapKeysOutOfTheEncodersOrderAreRefused) {
  // {2: null, 1: null}: the encoder always writes 1 first.
  const std::string encoded("\x08\x02\x03\x04\x00\x03\x02\x00", 8);
  EXPECT_CODE(DecodeValue(encoded), absl::StatusCode::kDataLoss);
  EXPECT_EQ(RoundTrip(Value(Map{{2, nullptr}, {1, nullptr}})),
            Value(Map{{1, nullptr}, {2, nullptr}}));
}

TEST(ValueCodecTest, ANaNKeyRoundTripsOnce) {
  const Value v(Map{{std::nan(""), 1}, {0.5, 2}});
  absl::StatusOr<Value> decoded = DecodeValue(Encode(v));
  ASSERT_OK(decoded);
  EXPECT_EQ(decoded->map_value().size(), 2u);
}

// Found by the codec fuzzer: bytes of length 11 written as the two-byte
// varint 8b 00 decoded, and encoded again differently. A value has one
// encoding: longer varints than the encoder writes are refused.
TEST(ValueCodecTest, AVarintLongerThanNeededIsRefused) {
  EXPECT_CODE(
      DecodeValue(std::string("\x06\x8b\x00", 3) + std::string(11, 'x')),
      absl::StatusCode::kDataLoss);
  EXPECT_CODE(DecodeValue(std::string("\x03\x80\x00", 3)),  // int 0
              absl::StatusCode::kDataLoss);
  // Eleven bytes, or a tenth byte with bits past the 64th: too long.
  EXPECT_CODE(DecodeValue(std::string(
                  "\x03\xff\xff\xff\xff\xff\xff\xff\xff\xff\x02", 11)),
              absl::StatusCode::kDataLoss);
  const int64_t kMin = std::numeric_limits<int64_t>::min();
  EXPECT_EQ(RoundTrip(Value(kMin)), Value(kMin));  // the full ten bytes
  EXPECT_EQ(RoundTrip(Value(std::string(200, 'y'))),
            Value(std::string(200, 'y')));  // a two-byte length
}

// Regression (shared/regressions/value_codec_slow_input.bin): 1,483 bytes
// of maps used as map keys made the decoder's key comparisons exponential —
// about 20 s to reject. Now the first map-valued key is refused where it
// starts, before anything is compared.
TEST(ValueCodecTest, SlowInputFromTheFuzzerIsRefusedAtItsFirstMapKey) {
  std::ifstream file("tests/common/testdata/value_codec_slow_input.bin",
                     std::ios::binary);
  ASSERT_TRUE(file.good());
  const std::string input((std::istreambuf_iterator<char>(file)),
                          std::istreambuf_iterator<char>());
  ASSERT_EQ(input.size(), 1483u);
  absl::StatusOr<Value> decoded = DecodeValue(input);
  EXPECT_CODE(decoded, absl::StatusCode::kDataLoss);
  EXPECT_NE(decoded.status().message().find("map keys must be scalars"),
            absl::string_view::npos)
      << decoded.status();
}

}  // namespace
}  // namespace mproc
