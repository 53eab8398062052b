// common/log: one line per event, text or JSON, levels, no forged lines,
// and the limiter for events a caller can repeat at will.
#include "common/log.h"

#include <algorithm>
#include <string>

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace mproc {
namespace {

std::string Captured(LogLevel level, absl::string_view message,
                     const Map& fields = {}) {
  ::testing::internal::CaptureStderr();
  Log(level, "something_happened", message, fields);
  return ::testing::internal::GetCapturedStderr();
}

TEST(LogTest, TextLineShowsControlBytesEscaped) {
  ConfigureLog({LogLevel::kInfo, false, "tester"});
  const std::string line =
      Captured(LogLevel::kWarning, "one\nFAKE ERROR line\x1b[31m");
  EXPECT_EQ(std::count(line.begin(), line.end(), '\n'), 1) << line;
  EXPECT_TRUE(absl::StrContains(
      line, " WARNING tester[" + std::to_string(getpid()) +
                "] something_happened: one\\x0aFAKE ERROR line\\x1b[31m\n"))
      << line;
}

TEST(LogTest, JsonLineCarriesTheFields) {
  ConfigureLog({LogLevel::kInfo, true, "tester"});
  const std::string line =
      Captured(LogLevel::kInfo, "a\nb", {{"pool", "p"}, {"n", 3}});
  ASSERT_EQ(std::count(line.begin(), line.end(), '\n'), 1) << line;
  absl::StatusOr<Value> parsed = Value::FromJson(line);
  ASSERT_TRUE(parsed.ok()) << line;
  const Map& m = parsed->map_value();
  EXPECT_EQ(m.at(Value("event")), Value("something_happened"));
  EXPECT_EQ(m.at(Value("message")), Value("a\nb"));
  EXPECT_EQ(m.at(Value("level")), Value("info"));
  EXPECT_EQ(m.at(Value("component")), Value("tester"));
  EXPECT_EQ(m.at(Value("pool")), Value("p"));
  EXPECT_EQ(m.at(Value("n")), Value(3));
}

TEST(LogTest, LevelLeavesOutWhatIsBelowIt) {
  ConfigureLog({LogLevel::kWarning, false, "tester"});
  EXPECT_EQ(Captured(LogLevel::kInfo, "quiet"), "");
  EXPECT_NE(Captured(LogLevel::kError, "loud"), "");
  EXPECT_FALSE(LogEnabled(LogLevel::kDebug));
  EXPECT_TRUE(ParseLogLevel("WARN").ok());
  EXPECT_FALSE(ParseLogLevel("loud").ok());
  EXPECT_FALSE(ParseLogFormatIsJson("xml").ok());
}

TEST(LogTest, LongMessagesAreCut) {
  ConfigureLog({LogLevel::kInfo, false, "tester"});
  const std::string line = Captured(LogLevel::kInfo, std::string(100000, 'x'));
  EXPECT_LT(line.size(), 2200u);
  EXPECT_TRUE(absl::EndsWith(line, "...\n"));
}

TEST(LogLimiterTest, OneLineASecondAndACountOfTheRest) {
  LogLimiter limiter;
  int64_t skipped = -1;
  EXPECT_TRUE(limiter.Take(&skipped));
  EXPECT_EQ(skipped, 0);
  EXPECT_FALSE(limiter.Take(&skipped));
  EXPECT_FALSE(limiter.Take(&skipped));
}

}  // namespace
}  // namespace mproc
