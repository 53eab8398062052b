#include "common/object_errors.h"

#include "common/wire.h"
#include "gtest/gtest.h"
#include "proto/mproc.pb.h"

namespace mproc {
namespace {

absl::Status OverTheWire(const absl::Status& status) {
  pb::Response response;
  StatusToResponse(status, &response);
  return StatusFromResponse(response);
}

TEST(ObjectErrorsTest, EachErrorIsRecognisedAfterCrossingTheWire) {
  const absl::Status empty = OverTheWire(QueueEmptyError("queue 'jobs'"));
  EXPECT_TRUE(IsQueueEmpty(empty));
  EXPECT_EQ(empty.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(empty.message(), "queue 'jobs' is empty");
  EXPECT_FALSE(IsQueueFull(empty));

  const absl::Status full = OverTheWire(QueueFullError("queue 'jobs'", 3));
  EXPECT_TRUE(IsQueueFull(full));
  EXPECT_EQ(full.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_FALSE(IsQueueEmpty(full));

  EXPECT_TRUE(IsQueueClosed(OverTheWire(QueueClosedError("queue 'jobs'"))));
  EXPECT_TRUE(IsQueueClosed(OverTheWire(QueueDrainedError("queue 'jobs'"))));
  EXPECT_EQ(QueueDrainedError("q").code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(QueueClosedError("q").code(),
            absl::StatusCode::kFailedPrecondition);

  const absl::Status broken = OverTheWire(BrokenBarrierError("barrier 'b'"));
  EXPECT_TRUE(IsBrokenBarrier(broken));
  EXPECT_EQ(broken.code(), absl::StatusCode::kAborted);
}

TEST(ObjectErrorsTest, AMessageThatOnlyLooksLikeOneIsNotRecognised) {
  // A dict key error whose text happens to end like a queue's.
  EXPECT_FALSE(IsQueueEmpty(
      OverTheWire(absl::NotFoundError("dict 'd': key 'queue' is empty"))));
  EXPECT_FALSE(IsBrokenBarrier(
      OverTheWire(absl::AbortedError("task 't': worker is broken"))));
  EXPECT_FALSE(IsQueueClosed(
      OverTheWire(absl::FailedPreconditionError("list 'l' is closed"))));
}

TEST(ObjectErrorsTest, TheIdentityNeedsItsCode) {
  // The payload alone does not make an OK status, or another code, match.
  absl::Status other = WithObjectErrorType(
      absl::InternalError("x"), *ObjectErrorType(QueueEmptyError("q")));
  EXPECT_FALSE(IsQueueEmpty(other));
  EXPECT_TRUE(WithObjectErrorType(absl::OkStatus(), "queue_empty").ok());
}

}  // namespace
}  // namespace mproc
