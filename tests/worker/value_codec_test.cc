#include "worker/process/value_codec.h"

#include <cmath>
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
        Value(Map{}),
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
  encoded.push_back(0);  // null
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

}  // namespace
}  // namespace mproc
