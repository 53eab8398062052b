// Drives the `mproc` binary as a user would, against a real manager.
#include <sys/stat.h>

#include <cstdlib>
#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/version.h"
#include "gtest/gtest.h"
#include "tests/support/manager_fixture.h"

namespace mproc {
namespace {

using testing::CommandResult;

class CliTest : public testing::ManagerTest {
 protected:
  // Runs `mproc ARGS...` with MPROC_ADDRESS pointing at the test manager.
  CommandResult Mproc(std::vector<std::string> args) {
    args.insert(args.begin(), testing::MprocBinary());
    return testing::RunCommand(args, {"MPROC_ADDRESS=" + server_->address()});
  }
  // Runs it and expects success; returns stdout.
  std::string Ok(std::vector<std::string> args) {
    CommandResult r = Mproc(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out;
  }
};

TEST_F(CliTest, DictSetGetAddDelItemsLen) {
  const std::string d = UniqueName();
  EXPECT_EQ(Ok({"dict", "set", d, "name", "alice"}), "");
  EXPECT_EQ(Ok({"dict", "set", d, "n", "41"}), "");
  EXPECT_EQ(Ok({"dict", "get", d, "name"}), "\"alice\"\n");
  EXPECT_EQ(Ok({"dict", "add", d, "n", "1"}), "42\n");
  EXPECT_EQ(Ok({"dict", "add", d, "n", "-2"}), "40\n");
  EXPECT_EQ(Ok({"dict", "len", d}), "2\n");
  EXPECT_EQ(Ok({"dict", "items", d}), "{\"n\": 40, \"name\": \"alice\"}\n");
  EXPECT_EQ(Ok({"dict", "del", d, "name"}), "");
  EXPECT_EQ(Ok({"dict", "len", d}), "1\n");
}

TEST_F(CliTest, ValuesThatStartLikeJsonMustBeJson) {
  const std::string d = UniqueName();
  // Leading zeros stay text, as zip codes and ids are meant.
  EXPECT_EQ(Ok({"dict", "set", d, "zip", "007"}), "");
  EXPECT_EQ(Ok({"dict", "get", d, "zip"}), "\"007\"\n");
  EXPECT_EQ(Ok({"dict", "set", d, "007", "-01.5"}), "");
  EXPECT_EQ(Ok({"dict", "get", d, "007"}), "\"-01.5\"\n");
  EXPECT_EQ(Ok({"dict", "set", d, "n", "7"}), "");
  EXPECT_EQ(Ok({"dict", "get", d, "n"}), "7\n");
  EXPECT_EQ(Ok({"dict", "set", d, "word", "hello world"}), "");
  EXPECT_EQ(Ok({"dict", "get", d, "word"}), "\"hello world\"\n");
  for (const char* bad : {"1e400", "[1,2", "9223372036854775808", "{\"a\":}",
                          "trueish" /* a word: fine */}) {
    CommandResult r = Mproc({"dict", "set", d, "bad", bad});
    if (std::string(bad) == "trueish") {
      EXPECT_EQ(r.exit_code, 0) << r.err;
      continue;
    }
    EXPECT_EQ(r.exit_code, 2) << bad;
    EXPECT_NE(r.err.find("starts like JSON but is not"), std::string::npos)
        << r.err;
  }
  CommandResult big = Mproc({"dict", "set", d, "bad", "9223372036854775808"});
  EXPECT_NE(big.err.find("write 9223372036854775808.0 for a double"),
            std::string::npos)
      << big.err;
  EXPECT_EQ(Ok({"dict", "set", d, "big", "9223372036854775808.0"}), "");
  EXPECT_EQ(Ok({"dict", "get", d, "big"}), "9223372036854775808.0\n");
  // --string takes the text as it is.
  EXPECT_EQ(Ok({"dict", "set", "--string", d, "s", "42"}), "");
  EXPECT_EQ(Ok({"dict", "get", d, "s"}), "\"42\"\n");
}

TEST_F(CliTest, ArgumentsAfterTheNameAreValuesEvenWithADash) {
  const std::string d = UniqueName();
  EXPECT_EQ(Ok({"dict", "set", d, "k", "-h"}), "");  // not --help
  EXPECT_EQ(Ok({"dict", "get", d, "k"}), "\"-h\"\n");
  EXPECT_EQ(Ok({"dict", "set", d, "-x", "--not-a-flag"}), "");
  EXPECT_EQ(Ok({"dict", "get", d, "-x"}), "\"--not-a-flag\"\n");
  EXPECT_EQ(Ok({"dict", "set", d, "--", "--timeout", "v"}), "");
  EXPECT_EQ(Ok({"dict", "get", d, "--", "--timeout"}), "\"v\"\n");
  EXPECT_EQ(Mproc({"dict", "-h"}).exit_code, 0);  // before NAME: help
}

TEST_F(CliTest, OutputIsValidJsonAndTypedFormsRoundTrip) {
  const std::string d = UniqueName();
  EXPECT_EQ(Ok({"dict", "set", d, "1", "int key"}), "");
  EXPECT_EQ(Ok({"dict", "set", d, "\"1\"", "string key"}), "");
  EXPECT_EQ(Ok({"dict", "set", d, "nan", "{\"$double\": \"NaN\"}"}), "");
  EXPECT_EQ(Ok({"dict", "set", d, "b", "{\"$bytes\": \"AAE=\"}"}), "");
  const std::string items = Ok({"dict", "items", d});
  EXPECT_EQ(items,
            "{\"$map\": [[1, \"int key\"], [\"1\", \"string key\"], "
            "[\"b\", {\"$bytes\": \"AAE=\"}], [\"nan\", {\"$double\": "
            "\"NaN\"}]]}\n");
  // The output, given back as input, is the same dict.
  const std::string copy = UniqueName("-copy");
  EXPECT_EQ(Ok({"dict", "update", copy, items.substr(0, items.size() - 1)}),
            "");
  EXPECT_EQ(Ok({"dict", "items", copy}), items);
  EXPECT_EQ(Ok({"dict", "get", d, "\"1\"", "--raw"}), "string key\n");
}

TEST_F(CliTest, ExitCodesTellMissingFromDownFromDenied) {
  const std::string d = UniqueName();
  EXPECT_EQ(Mproc({"dict", "get", d, "missing"}).exit_code, 1);
  EXPECT_EQ(Mproc({"dict", "frobnicate", d}).exit_code, 2);
  EXPECT_EQ(Mproc({"--manager", "127.0.0.1:1", "info"}).exit_code, 3);
  const std::string key_file =
      std::string(std::getenv("TEST_TMPDIR")) + "/wrong-key";
  std::ofstream(key_file, std::ios::trunc) << "not the key";
  ASSERT_EQ(chmod(key_file.c_str(), 0600), 0);
  CommandResult denied = Mproc({"--authkey-file", key_file, "info"});
  EXPECT_EQ(denied.exit_code, 4) << denied.err;
  // The release first, then the build: a test's build is not stamped
  // (scripts/package.sh's is, and scripts/check_package.sh checks it).
  CommandResult version = Mproc({"--version"});
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_EQ(version.out.rfind(absl::StrCat("mproc ", kMprocVersion, "\n"), 0),
            0u)
      << version.out;
  EXPECT_TRUE(absl::StrContains(version.out,
                                "revision: unknown (not a stamped build)\n"))
      << version.out;
  EXPECT_TRUE(absl::StrContains(version.out, "compiler: ")) << version.out;
}

// --flagfile: flags from a file, one per line, in its place; a flag after
// it overrides the file's; a bad line is a usage error naming the line.
TEST_F(CliTest, FlagfileGivesFlagsFromAFile) {
  const std::string dir = std::getenv("TEST_TMPDIR");
  const std::string good = dir + "/good.flags";
  std::ofstream(good) << "# where the manager is\n\n--manager="
                      << server_->address() << "\n--string\n";
  const std::string d = UniqueName();
  // --string from the file: 007 is stored as text.
  ASSERT_EQ(testing::RunCommand({testing::MprocBinary(), "--flagfile", good,
                                 "dict", "set", d, "k", "007"})
                .exit_code,
            0);
  CommandResult got = testing::RunCommand(
      {testing::MprocBinary(), "--flagfile=" + good, "dict", "get", d, "k"});
  EXPECT_EQ(got.exit_code, 0) << got.err;
  EXPECT_EQ(got.out, "\"007\"\n");
  // A later flag wins over the file's.
  EXPECT_EQ(testing::RunCommand({testing::MprocBinary(), "--flagfile", good,
                                 "--manager", "127.0.0.1:1", "info"})
                .exit_code,
            3);
  const std::string bad = dir + "/bad.flags";
  std::ofstream(bad) << "--manager=x\nlisten 1\n";
  CommandResult refused =
      testing::RunCommand({testing::MprocBinary(), "--flagfile", bad, "info"});
  EXPECT_EQ(refused.exit_code, 2);
  EXPECT_TRUE(absl::StrContains(refused.err, "bad.flags line 2"))
      << refused.err;
  EXPECT_EQ(testing::RunCommand(
                {testing::MprocBinary(), "--flagfile", dir + "/none", "info"})
                .exit_code,
            2);
  // After KIND OP NAME, "--flagfile" is a value like any other.
  EXPECT_EQ(Mproc({"dict", "set", d, "v", "--flagfile"}).exit_code, 0);
  EXPECT_EQ(Mproc({"dict", "get", d, "v"}).out, "\"--flagfile\"\n");
}

TEST_F(CliTest, QueuePutGetLenAndTimeout) {
  const std::string q = UniqueName();
  EXPECT_EQ(Ok({"queue", "put", q, "{\"job\": 1}"}), "");
  EXPECT_EQ(Ok({"queue", "put", q, "two"}), "");
  EXPECT_EQ(Ok({"queue", "len", q}), "2\n");
  EXPECT_EQ(Ok({"queue", "get", q}), "{\"job\": 1}\n");
  EXPECT_EQ(Ok({"queue", "get", q, "--timeout", "5"}), "\"two\"\n");
  CommandResult empty = Mproc({"queue", "get", q, "--timeout", "0.2"});
  EXPECT_EQ(empty.exit_code, 1);
  EXPECT_NE(empty.err.find("is empty"), std::string::npos) << empty.err;
  CommandResult bad = Mproc({"queue", "get", q, "--timeout", "-1"});
  EXPECT_EQ(bad.exit_code, 2) << bad.err;
  EXPECT_NE(Ok({"objects"}).find("\"getters\": 0"), std::string::npos);
}

TEST_F(CliTest, EventSetClearWait) {
  const std::string e = UniqueName();
  CommandResult unset = Mproc({"event", "wait", e, "--timeout", "0.1"});
  EXPECT_EQ(unset.exit_code, 1);
  EXPECT_NE(unset.err.find("not set"), std::string::npos) << unset.err;
  EXPECT_EQ(Ok({"event", "set", e}), "");
  EXPECT_EQ(Ok({"event", "is_set", e}), "true\n");
  EXPECT_EQ(Ok({"event", "wait", e, "--timeout", "1"}), "true\n");
  EXPECT_EQ(Ok({"event", "clear", e}), "");
  EXPECT_EQ(Ok({"event", "is_set", e}), "false\n");
}

TEST_F(CliTest, ValuesParseAsJsonElseStrings) {
  const std::string d = UniqueName();
  Ok({"dict", "set", d, "list", "[1, 2.5, null]"});
  Ok({"dict", "set", d, "word", "hello world"});
  auto dict = manager_->Dict(d);
  ASSERT_OK(dict);
  EXPECT_EQ(*dict->Get("list"), Value(List{1, 2.5, Value()}));
  EXPECT_EQ(*dict->Get("word"), Value("hello world"));
}

TEST_F(CliTest, ListAppendAndItems) {
  const std::string l = UniqueName();
  EXPECT_EQ(Ok({"list", "append", l, "a"}), "1\n");
  EXPECT_EQ(Ok({"list", "append", l, "{\"k\": true}"}), "2\n");
  EXPECT_EQ(Ok({"list", "items", l}), "[\"a\", {\"k\": true}]\n");
  EXPECT_EQ(Ok({"list", "get", l, "-1"}), "{\"k\": true}\n");
}

TEST_F(CliTest, ValueSetInfersTheTypeThenAddAndGet) {
  const std::string v = UniqueName();
  EXPECT_EQ(Ok({"value", "set", v, "10"}), "");
  EXPECT_EQ(Ok({"value", "add", v, "5"}), "15\n");
  EXPECT_EQ(Ok({"value", "get", v}), "15\n");
  CommandResult wrong = Mproc({"value", "set", v, "\"text\""});
  EXPECT_EQ(wrong.exit_code, 1);
  EXPECT_NE(wrong.err.find("INVALID_ARGUMENT"), std::string::npos) << wrong.err;
}

TEST_F(CliTest, ObjectsShowsATableAndInfoShowsJson) {
  const std::string d = UniqueName();
  Ok({"dict", "set", d, "a", "1"});
  std::string table = Ok({"objects"});
  EXPECT_NE(table.find("KIND"), std::string::npos);
  EXPECT_NE(table.find(d), std::string::npos);
  std::string json = Ok({"objects", "--json"});
  absl::StatusOr<Value> rows = Value::FromJson(json);
  ASSERT_OK(rows);
  EXPECT_TRUE(rows->is_list());
  absl::StatusOr<Value> info = Value::FromJson(Ok({"info"}));
  ASSERT_OK(info);
  EXPECT_EQ(info->map_value().at(Value("instance_id")),
            Value(manager_->instance_id()));
}

TEST_F(CliTest, MissingKeyExitsOneWithTheErrorOnStderr) {
  const std::string d = UniqueName();
  Ok({"dict", "set", d, "a", "1"});
  CommandResult r = Mproc({"dict", "get", d, "nope"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("NOT_FOUND"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("'nope'"), std::string::npos) << r.err;
}

TEST_F(CliTest, WrongUsageExitsTwo) {
  EXPECT_EQ(Mproc({"dict", "frobnicate", "d"}).exit_code, 2);
  EXPECT_EQ(Mproc({"dict", "get", "d"}).exit_code, 2);  // missing KEY
  EXPECT_EQ(Mproc({"bogus"}).exit_code, 2);
  EXPECT_EQ(Mproc({"--no-such-flag", "info"}).exit_code, 2);
}

TEST_F(CliTest, ManagerRefusesABadThreadCount) {
  for (const char* bad : {"0", "-1", "many", "257"}) {
    CommandResult r =
        Mproc({"manager", "--listen", "127.0.0.1:0", "--threads", bad});
    EXPECT_EQ(r.exit_code, 2) << bad;
    EXPECT_NE(r.err.find("--threads must be an integer from 1 to 256"),
              std::string::npos)
        << r.err;
  }
}

TEST_F(CliTest, EverySubcommandHasHelp) {
  for (const char* command : {"manager", "dict", "list", "value", "array",
                              "namespace", "objects", "delete", "info"}) {
    CommandResult r = Mproc({command, "--help"});
    EXPECT_EQ(r.exit_code, 0) << command;
    EXPECT_NE(r.out.find("usage: mproc"), std::string::npos) << command;
  }
}

TEST_F(CliTest, UnreachableManagerIsAClearError) {
  CommandResult r =
      testing::RunCommand({testing::MprocBinary(), "--manager",
                           "unix:/nonexistent/mproc.sock", "info"});
  EXPECT_EQ(r.exit_code, 3);  // not 1: a script can tell it from "missing"
  EXPECT_NE(r.err.find("UNAVAILABLE"), std::string::npos) << r.err;
}

TEST_F(CliTest, DeleteRemovesAnObject) {
  const std::string d = UniqueName();
  Ok({"dict", "set", d, "a", "1"});
  Ok({"delete", d});
  EXPECT_EQ(Mproc({"delete", d}).exit_code, 1);
}

}  // namespace
}  // namespace mproc
