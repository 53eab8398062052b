// Requests as they travel on the wire, for tests (and the fuzz seed
// writer) that talk to the manager through raw gRPC stubs.
#ifndef MPROC_TESTS_SUPPORT_WIRE_REQUESTS_H_
#define MPROC_TESTS_SUPPORT_WIRE_REQUESTS_H_

#include <cstdint>
#include <string>

#include "common/value.h"
#include "common/wire.h"
#include "proto/mproc.pb.h"

namespace mproc {
namespace testing {

// `op` on object `name` with `args`, numbered `id`.
inline pb::Request MakeRequest(pb::Op op, const std::string& name,
                               const List& args, uint64_t id = 0) {
  pb::Request r;
  r.set_id(id);
  r.set_op(op);
  r.set_name(name);
  for (const Value& a : args) ValueToProto(a, r.add_args());
  return r;
}

}  // namespace testing
}  // namespace mproc

#endif  // MPROC_TESTS_SUPPORT_WIRE_REQUESTS_H_
