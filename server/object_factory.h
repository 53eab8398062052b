// Builds a new shared object from a CreateSpec (kind, element type,
// length, initial content), validating the spec.
#ifndef MPROC_SERVER_OBJECT_FACTORY_H_
#define MPROC_SERVER_OBJECT_FACTORY_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "proto/mproc.pb.h"
#include "server/shared_object.h"

namespace mproc {

// How long a pool keeps a result its client did not read, when the spec
// does not say (Celery's result_expires is a day; Python keeps none).
inline constexpr absl::Duration kDefaultResultTtl = absl::Minutes(10);

// What an object made by a small request may cost at most, in bytes of
// manager memory (an Array's elements), unless the manager says otherwise.
inline constexpr int64_t kDefaultMaxObjectBytes = int64_t{1} << 30;

// INVALID_ARGUMENT naming the object for: an unknown kind or element type,
// a negative length, an initial value of the wrong shape or type, or
// non-scalar dict keys / non-string namespace attributes.
// RESOURCE_EXHAUSTED, at once, if it would take more than
// `max_object_bytes` of memory.
absl::StatusOr<std::unique_ptr<SharedObject>> CreateObject(
    const std::string& name, const pb::CreateSpec& spec,
    int64_t max_object_bytes = kDefaultMaxObjectBytes,
    std::shared_ptr<SharedObject> lock = nullptr);

// OK if an existing object satisfies `spec` (same kind; for typed Values
// and Arrays the same element type, and for Arrays the same length when
// one is given). FAILED_PRECONDITION naming both otherwise: get-or-create
// must not hand back an object of another shape.
absl::Status CheckMatchesSpec(const SharedObject& existing,
                              const pb::CreateSpec& spec);

}  // namespace mproc

#endif  // MPROC_SERVER_OBJECT_FACTORY_H_
