// Writes the fuzzers' seed corpora (tests/fuzz/corpus/<fuzzer>/): a few
// valid inputs of each kind, so the fuzzers start from real shapes. Run
// once after a format change and commit the files:
//   bazel run //tests/fuzz:write_seeds -- "$PWD/tests/fuzz/corpus"
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "common/task_wire.h"
#include "common/value.h"
#include "common/value_codec.h"
#include "common/wire.h"
#include "proto/mproc.pb.h"
#include "tests/support/wire_requests.h"

namespace mproc {
namespace {

void Write(const std::string& dir, const std::string& name,
           const std::string& bytes) {
  std::ofstream(dir + "/" + name, std::ios::binary) << bytes;
}

std::vector<Value> SampleValues() {
  return {Value(),
          Value(true),
          Value(-42),
          Value(2.5),
          Value("text"),
          Value(Bytes{std::string("\0\xff", 2)}),
          Value(List{1, "two", List{3.0}}),
          Value(Map{{1, "one"}, {"k", Map{{"nested", List{}}}}, {false, 0}})};
}

std::string Codec(const Value& v) {
  std::string out;
  EncodeValue(v, &out);
  return out;
}

void WriteFrames(const std::string& dir) {
  std::vector<pb::RequestFrame> frames(6);
  *frames[0].add_requests() =
      testing::MakeRequest(pb::DICT_SET, "d", {"k", 1}, 1);
  *frames[0].add_requests() = testing::MakeRequest(pb::DICT_GET, "d", {"k"}, 2);
  *frames[0].add_requests() =
      testing::MakeRequest(pb::DICT_ADD, "d", {"n", 5}, 3);
  *frames[1].add_requests() =
      testing::MakeRequest(pb::LIST_APPEND, "l", {"x"}, 1);
  *frames[1].add_requests() =
      testing::MakeRequest(pb::LIST_SLICE, "l", {0, -1}, 2);
  *frames[1].add_requests() = testing::MakeRequest(pb::LIST_POP, "l", {}, 3);
  pb::Request open_array = testing::MakeRequest(pb::OPEN, "a", {}, 1);
  open_array.mutable_create()->set_kind(pb::ARRAY);
  open_array.mutable_create()->set_element_type("double");
  open_array.mutable_create()->set_length(4);
  *frames[2].add_requests() = open_array;
  *frames[2].add_requests() =
      testing::MakeRequest(pb::ARRAY_SET, "a", {1, 2.5}, 2);
  pb::Request open_queue = testing::MakeRequest(pb::OPEN, "q", {}, 1);
  open_queue.mutable_create()->set_kind(pb::QUEUE);
  open_queue.mutable_create()->set_maxsize(2);
  *frames[3].add_requests() = open_queue;
  *frames[3].add_requests() =
      testing::MakeRequest(pb::QUEUE_PUT, "q", {"item"}, 2);
  *frames[3].add_requests() =
      testing::MakeRequest(pb::QUEUE_GET, "q", {false}, 3);
  pb::Request open_lock = testing::MakeRequest(pb::OPEN, "lk", {}, 1);
  open_lock.mutable_create()->set_kind(pb::LOCK);
  *frames[4].add_requests() = open_lock;
  *frames[4].add_requests() =
      testing::MakeRequest(pb::LOCK_ACQUIRE, "lk", {"t1", false}, 2);
  *frames[4].add_requests() =
      testing::MakeRequest(pb::LOCK_RELEASE, "lk", {"t1"}, 3);
  TaskSpec spec;
  spec.name = "square";
  spec.args = {7};
  *frames[5].add_requests() = testing::MakeRequest(
      pb::POOL_SUBMIT, "p", {12345, List{EncodeTaskSpec(spec)}}, 1);
  *frames[5].add_requests() = testing::MakeRequest(pb::POOL_STATUS, "p", {}, 2);
  *frames[5].add_requests() = testing::MakeRequest(pb::LIST_OBJECTS, "", {}, 3);
  for (size_t i = 0; i < frames.size(); ++i) {
    Write(dir, "frame" + std::to_string(i), frames[i].SerializeAsString());
  }
}

int WriteAll(const std::string& root) {
  const std::vector<Value> values = SampleValues();
  for (size_t i = 0; i < values.size(); ++i) {
    const std::string n = "v" + std::to_string(i);
    Write(root + "/value_codec_fuzzer", n, Codec(values[i]));
    Write(root + "/proto_value_fuzzer", n,
          ValueToProto(values[i]).SerializeAsString());
    Write(root + "/json_fuzzer", n, values[i].ToJson());
  }
  TaskSpec spec;
  spec.name = "add";
  spec.args = {1, 2};
  spec.kwargs = Map{{"scale", 3}};
  spec.timeout_seconds = 5;
  spec.max_retries = 1;
  const Value encoded_spec = EncodeTaskSpec(spec);
  Write(root + "/task_wire_fuzzer", "spec", Codec(encoded_spec));
  absl::StatusOr<TaskEnvelope> envelope = DecodeTaskEnvelope(encoded_spec);
  if (envelope.ok()) {
    Write(root + "/task_wire_fuzzer", "work_item",
          Codec(EncodeWorkItem(9, *envelope)));
    Write(root + "/task_wire_fuzzer", "work_item_numbered",
          Codec(EncodeWorkItem(9, *envelope, 4)));
  }
  TaskResult ok;
  ok.task_id = 9;
  ok.outcome.value = 3;
  ok.run_us = 120;
  Write(root + "/task_wire_fuzzer", "result_ok", Codec(EncodeResult(ok)));
  ok.attempt = 4;
  Write(root + "/task_wire_fuzzer", "result_numbered", Codec(EncodeResult(ok)));
  TaskResult failed;
  failed.task_id = 10;
  failed.outcome.code = absl::StatusCode::kAborted;
  failed.outcome.error = TaskError{"WorkerLost", "died", "host", 42};
  Write(root + "/task_wire_fuzzer", "result_failed",
        Codec(EncodeResult(failed)));
  WriteFrames(root + "/dispatcher_fuzzer");
  return 0;
}

}  // namespace
}  // namespace mproc

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: write_seeds CORPUS_ROOT\n");
    return 2;
  }
  return mproc::WriteAll(argv[1]);
}
