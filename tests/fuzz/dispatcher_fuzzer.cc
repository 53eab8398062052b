// libFuzzer target: the manager's dispatcher (server/dispatcher.h) fed
// arbitrary RequestFrames against one in-process object store, as the RPC
// layer feeds it (nothing may park: no sink). Every request must get
// exactly one answer with its id, and the store must keep serving: a dict
// write and read after each frame must succeed.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>

#include "common/value.h"
#include "common/wire.h"
#include "proto/mproc.pb.h"
#include "server/dispatcher.h"
#include "server/object_store.h"

namespace {

mproc::Dispatcher& TheDispatcher() {
  static mproc::ObjectStore* store = mproc::NewInMemoryObjectStore().release();
  // A manager sized for a fuzz run: objects up to 16 MiB (the real
  // default, 1 GiB, would pass the fuzzer's own memory limit).
  mproc::DispatcherOptions options;
  options.max_object_bytes = int64_t{16} << 20;
  static mproc::Dispatcher* dispatcher =
      new mproc::Dispatcher(store, "fuzz-instance", options);
  return *dispatcher;
}

void CheckStillServing(mproc::Dispatcher& dispatcher) {
  mproc::pb::RequestFrame frame;
  mproc::pb::Request* set = frame.add_requests();
  set->set_id(1);
  set->set_op(mproc::pb::DICT_SET);
  set->set_name("fuzz-probe");
  *set->add_args() = mproc::ValueToProto(mproc::Value("k"));
  *set->add_args() = mproc::ValueToProto(mproc::Value(1));
  mproc::pb::Request* get = frame.add_requests();
  get->set_id(2);
  get->set_op(mproc::pb::DICT_GET);
  get->set_name("fuzz-probe");
  *get->add_args() = mproc::ValueToProto(mproc::Value("k"));
  mproc::pb::ResponseFrame out;
  dispatcher.ExecuteFrame(frame, &out, mproc::Access::Everything());
  if (out.responses_size() != 2 || out.responses(0).code() != 0 ||
      out.responses(1).code() != 0) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  mproc::pb::RequestFrame frame;
  if (!frame.ParseFromArray(data, static_cast<int>(size))) return 0;
  mproc::Dispatcher& dispatcher = TheDispatcher();
  mproc::pb::ResponseFrame out;
  dispatcher.ExecuteFrame(frame, &out, mproc::Access::Everything());
  if (out.responses_size() != frame.requests_size()) std::abort();
  for (int i = 0; i < frame.requests_size(); ++i) {
    if (out.responses(i).id() != frame.requests(i).id()) std::abort();
  }
  CheckStillServing(dispatcher);
  return 0;
}
