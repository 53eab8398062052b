// Tasks in one process: typed registration, argument conversion and its
// errors, exceptions, permissions, chunks — and the wire records the pool
// sends them in.
#include "worker/task_runner.h"

#include <stdexcept>

#include "absl/strings/match.h"
#include "common/task_wire.h"
#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"
#include "worker/task_registry.h"

namespace mproc {
namespace {

int64_t Square(int64_t x) { return x * x; }
std::string Join(std::string a, std::vector<int64_t> b) {
  return a + ":" + std::to_string(b.size());
}
absl::StatusOr<double> Half(double x) {
  if (x < 0) return absl::OutOfRangeError("negative");
  return x / 2;
}
void Nothing() {}
int Throws() { throw std::runtime_error("kaput"); }

class TaskRunnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    registry_.AddTyped("square", Square);
    registry_.AddTyped("join", Join);
    registry_.AddTyped("half", Half);
    registry_.AddTyped("nothing", Nothing);
    registry_.AddTyped("throws", Throws);
    registry_.AddTyped("lambda", [](int64_t a, int64_t b) { return a - b; });
    registry_.Add(
        "raw",
        [](const List& args, const Map& kwargs) -> absl::StatusOr<Value> {
          return Value(List{static_cast<int64_t>(args.size()),
                            static_cast<int64_t>(kwargs.size())});
        });
    registry_.Add(
        "run",
        [](const List&, const Map&) -> absl::StatusOr<Value> {
          return Value("ran");
        },
        /*needs_exec_permission=*/true);
    context_.registry = &registry_;
    context_.host = "testhost";
    context_.pid = 4242;
  }
  TaskOutcome Run(const std::string& name, List args, Map kwargs = {}) {
    return RunTask(context_, name, args, kwargs);
  }

  TaskRegistry registry_;
  RunnerContext context_;
};

TEST_F(TaskRunnerTest, TypedTasksConvertArgumentsAndResults) {
  EXPECT_EQ(Run("square", {7}).value, Value(49));
  EXPECT_EQ(Run("join", {"a", List{1, 2, 3}}).value, Value("a:3"));
  EXPECT_EQ(Run("half", {3}).value, Value(1.5));  // an int widens to double
  EXPECT_EQ(Run("lambda", {5, 2}).value, Value(3));
  const TaskOutcome nothing = Run("nothing", {});
  EXPECT_EQ(nothing.code, absl::StatusCode::kOk);
  EXPECT_TRUE(nothing.value.is_null());
  EXPECT_EQ(Run("raw", {1, 2}, {{"k", 1}}).value, Value(List{2, 1}));
}

TEST_F(TaskRunnerTest, WrongArgumentsAreArgumentErrorsNamingThem) {
  const TaskOutcome type = Run("square", {"seven"});
  EXPECT_EQ(type.code, absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(type.error->type, "ArgumentError");
  EXPECT_TRUE(
      absl::StrContains(type.error->message, "argument 1 of task 'square'"))
      << type.error->message;
  const TaskOutcome arity = Run("square", {1, 2});
  EXPECT_EQ(arity.error->type, "ArgumentError");
  EXPECT_TRUE(
      absl::StrContains(arity.error->message, "takes 1 argument(s), got 2"));
  EXPECT_EQ(Run("square", {1}, {{"x", 1}}).error->type, "ArgumentError");
  EXPECT_EQ(Run("join", {"a", List{1, "b"}}).error->type, "ArgumentError");
}

TEST_F(TaskRunnerTest, FailuresCarryTypeCodeAndWhere) {
  const TaskOutcome status = Run("half", {-1});
  EXPECT_EQ(status.code, absl::StatusCode::kOutOfRange);
  EXPECT_EQ(status.error->type, "TaskError");
  EXPECT_EQ(status.error->message, "negative");
  EXPECT_EQ(status.error->host, "testhost");
  EXPECT_EQ(status.error->pid, 4242);
  const TaskOutcome thrown = Run("throws", {});
  EXPECT_EQ(thrown.code, absl::StatusCode::kUnknown);
  EXPECT_EQ(thrown.error->message, "kaput");
  const TaskOutcome unknown = Run("nope", {});
  EXPECT_EQ(unknown.code, absl::StatusCode::kNotFound);
  EXPECT_EQ(unknown.error->type, "UnknownTask");
  EXPECT_TRUE(absl::StrContains(unknown.error->message, "square"));
}

TEST_F(TaskRunnerTest, ExecPermissionIsNeeded) {
  EXPECT_EQ(Run("run", {}).code, absl::StatusCode::kPermissionDenied);
  context_.allow_exec = true;
  EXPECT_EQ(Run("run", {}).value, Value("ran"));
}

TEST_F(TaskRunnerTest, ChunksRunEveryItemAndListFailuresByIndex) {
  WorkItem item;
  item.spec.name = "square";
  item.spec.chunk = true;
  item.spec.args = {List{2}, List{"x"}, List{4}};
  const TaskOutcome outcome = RunWorkItem(context_, item);
  ASSERT_EQ(outcome.code, absl::StatusCode::kOk);
  const List& parts = outcome.value.list_value();
  EXPECT_EQ(parts[0], Value(List{4, Value(), 16}));
  ASSERT_EQ(parts[1].map_value().size(), 1u);
  auto failed = DecodeOutcome(parts[1].map_value().at(Value(1)));
  ASSERT_OK(failed);
  EXPECT_EQ(failed->error->type, "ArgumentError");

  item.spec.single_args = true;
  item.spec.args = {3, 5};
  EXPECT_EQ(RunWorkItem(context_, item).value.list_value()[0],
            Value(List{9, 25}));
  item.spec.name = "nope";
  EXPECT_EQ(RunWorkItem(context_, item).code, absl::StatusCode::kNotFound);
}

TEST(TaskWireTest, TasksAndResultsSurviveTheTrip) {
  TaskSpec spec;
  spec.name = "square";
  spec.args = {7, "x", List{1.5}};
  spec.kwargs = {{"k", Bytes{"\x00\x01"}}};
  spec.timeout_seconds = 2.5;
  spec.max_retries = 3;
  auto envelope = DecodeTaskEnvelope(EncodeTaskSpec(spec));
  ASSERT_OK(envelope);
  EXPECT_EQ(envelope->name, "square");
  EXPECT_EQ(envelope->max_retries, 3);
  auto item = DecodeWorkItem(EncodeWorkItem(11, *envelope));
  ASSERT_OK(item);
  EXPECT_EQ(item->task_id, 11);
  EXPECT_EQ(Value(item->spec.args), Value(spec.args));
  EXPECT_EQ(Value(item->spec.kwargs), Value(spec.kwargs));
  EXPECT_EQ(item->spec.timeout_seconds, 2.5);

  TaskResult result{
      11, TaskOutcome{absl::StatusCode::kOk, Value(List{1, 2}), {}}, 9};
  auto back = DecodeResult(EncodeResult(result));
  ASSERT_OK(back);
  EXPECT_EQ(back->outcome.value, Value(List{1, 2}));
  EXPECT_EQ(back->run_us, 9);
  auto header = PeekResult(EncodeResult(result));
  ASSERT_OK(header);
  EXPECT_EQ(header->task_id, 11);

  TaskOutcome failed;
  failed.code = absl::StatusCode::kAborted;
  failed.error = TaskError{"WorkerLost", "gone", "h", 7};
  const absl::Status status = OutcomeStatus(failed, "square", 11);
  EXPECT_EQ(status.code(), absl::StatusCode::kAborted);
  EXPECT_EQ(status.message(), "WorkerLost: gone (task 'square' id 11 on h:7)");
  EXPECT_EQ(TaskErrorType(status), "WorkerLost");
  EXPECT_EQ(TaskErrorType(absl::AbortedError("x")), std::nullopt);
}

// A work item and a result carry their hand-out; without one (0) they
// keep the 5-field form older workers and clients read.
TEST(TaskWireTest, HandOutsTravelAndTheOlderFormStillReads) {
  TaskSpec spec;
  spec.name = "square";
  spec.args = {3};
  auto envelope = DecodeTaskEnvelope(EncodeTaskSpec(spec));
  ASSERT_OK(envelope);
  const Value numbered = EncodeWorkItem(4, *envelope, 77);
  EXPECT_EQ(numbered.list_value().size(), 6u);
  auto item = DecodeWorkItem(numbered);
  ASSERT_OK(item);
  EXPECT_EQ(item->attempt, 77);
  const Value plain = EncodeWorkItem(4, *envelope);
  EXPECT_EQ(plain.list_value().size(), 5u);
  auto old_item = DecodeWorkItem(plain);
  ASSERT_OK(old_item);
  EXPECT_EQ(old_item->attempt, 0);

  TaskResult result{4, TaskOutcome{absl::StatusCode::kOk, Value(9), {}}, 5, 77};
  auto header = PeekResult(EncodeResult(result));
  ASSERT_OK(header);
  EXPECT_EQ(header->attempt, 77);
  auto back = DecodeResult(EncodeResult(result));
  ASSERT_OK(back);
  EXPECT_EQ(back->attempt, 77);
  result.attempt = 0;
  EXPECT_EQ(EncodeResult(result).list_value().size(), 5u);
  auto old_header = PeekResult(EncodeResult(result));
  ASSERT_OK(old_header);
  EXPECT_EQ(old_header->attempt, 0);
  // A sixth field that is not an int is no hand-out.
  List bad = EncodeResult(result).list_value();
  bad.push_back("x");
  EXPECT_CODE(PeekResult(Value(bad)), absl::StatusCode::kInvalidArgument);
}

TEST(TaskWireTest, MalformedRecordsAreInvalidArgument) {
  EXPECT_CODE(DecodeTaskEnvelope(Value(List{"x"})),
              absl::StatusCode::kInvalidArgument);
  EXPECT_CODE(DecodeTaskEnvelope(Value(List{"", Bytes{""}, 0, 0, false})),
              absl::StatusCode::kInvalidArgument);
  EXPECT_CODE(DecodeTaskEnvelope(Value(List{"f", Bytes{""}, -1, 0, false})),
              absl::StatusCode::kInvalidArgument);
  EXPECT_CODE(DecodeTaskEnvelope(Value(List{"f", Bytes{""}, 0, -2, false})),
              absl::StatusCode::kInvalidArgument);
  EXPECT_CODE(DecodeWorkItem(Value(List{1, "f", Bytes{"junk"}, 0, false})),
              absl::StatusCode::kInvalidArgument);
  EXPECT_CODE(PeekResult(Value(List{1, 99, Value(), Value(), 0})),
              absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace mproc
