// libFuzzer target: the task pool's records (common/task_wire.h) decoded
// from arbitrary codec bytes, as a manager reads a client's submission and
// a worker's result, and a worker reads a work item. Decoders must refuse
// with a status, never crash; what they accept must re-encode and decode
// to the same record.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "common/task_wire.h"
#include "common/value.h"
#include "common/value_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<mproc::Value> value = mproc::DecodeValue(input);
  if (!value.ok()) return 0;

  absl::StatusOr<mproc::TaskEnvelope> envelope =
      mproc::DecodeTaskEnvelope(*value);
  if (envelope.ok()) {
    absl::StatusOr<mproc::WorkItem> item =
        mproc::DecodeWorkItem(mproc::EncodeWorkItem(7, *envelope, 5));
    if (item.ok() && (item->task_id != 7 || item->attempt != 5 ||
                      item->spec.name != envelope->name)) {
      std::abort();
    }
  }
  (void)mproc::DecodeWorkItem(*value);
  (void)mproc::PeekResult(*value);
  absl::StatusOr<mproc::TaskResult> result = mproc::DecodeResult(*value);
  if (result.ok()) {
    absl::StatusOr<mproc::TaskResult> again =
        mproc::DecodeResult(mproc::EncodeResult(*result));
    if (!again.ok() || again->task_id != result->task_id ||
        again->attempt != result->attempt ||
        again->outcome.code != result->outcome.code) {
      std::abort();
    }
  }
  absl::StatusOr<mproc::TaskOutcome> outcome = mproc::DecodeOutcome(*value);
  if (outcome.ok() && outcome->code != absl::StatusCode::kOk) {
    (void)mproc::OutcomeStatus(*outcome, "fuzz", 1);
  }
  return 0;
}
