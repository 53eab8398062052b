#include "common/object_errors.h"

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"

namespace mproc {
namespace {

constexpr char kObjectErrorPayload[] = "type.mproc.dev/object-error";
constexpr char kQueueEmpty[] = "queue_empty";
constexpr char kQueueFull[] = "queue_full";
constexpr char kQueueClosed[] = "queue_closed";
constexpr char kBrokenBarrier[] = "broken_barrier";

bool HasType(const absl::Status& status, absl::string_view type) {
  auto payload = status.GetPayload(kObjectErrorPayload);  // absl::optional
  return payload.has_value() && *payload == type;
}

}  // namespace

absl::Status WithObjectErrorType(absl::Status status, absl::string_view type) {
  if (!status.ok() && !type.empty()) {
    status.SetPayload(kObjectErrorPayload, absl::Cord(type));
  }
  return status;
}

std::optional<std::string> ObjectErrorType(const absl::Status& status) {
  auto payload = status.GetPayload(kObjectErrorPayload);
  if (!payload.has_value()) return std::nullopt;
  return std::string(*payload);
}

absl::Status QueueEmptyError(absl::string_view queue) {
  return WithObjectErrorType(
      absl::NotFoundError(absl::StrCat(queue, " is empty")), kQueueEmpty);
}

absl::Status QueueFullError(absl::string_view queue, int64_t maxsize) {
  return WithObjectErrorType(absl::ResourceExhaustedError(absl::StrCat(
                                 queue, " is full (maxsize ", maxsize, ")")),
                             kQueueFull);
}

absl::Status QueueClosedError(absl::string_view queue) {
  return WithObjectErrorType(absl::FailedPreconditionError(absl::StrCat(
                                 queue, " is closed: no more puts")),
                             kQueueClosed);
}

absl::Status QueueDrainedError(absl::string_view queue) {
  return WithObjectErrorType(
      absl::OutOfRangeError(absl::StrCat(queue, " is closed and empty")),
      kQueueClosed);
}

absl::Status BrokenBarrierError(absl::string_view barrier) {
  return WithObjectErrorType(
      absl::AbortedError(absl::StrCat(barrier, " is broken")), kBrokenBarrier);
}

bool IsQueueEmpty(const absl::Status& status) {
  return absl::IsNotFound(status) && HasType(status, kQueueEmpty);
}

bool IsQueueFull(const absl::Status& status) {
  return absl::IsResourceExhausted(status) && HasType(status, kQueueFull);
}

bool IsQueueClosed(const absl::Status& status) {
  return (absl::IsOutOfRange(status) || absl::IsFailedPrecondition(status)) &&
         HasType(status, kQueueClosed);
}

bool IsBrokenBarrier(const absl::Status& status) {
  return absl::IsAborted(status) && HasType(status, kBrokenBarrier);
}

}  // namespace mproc
