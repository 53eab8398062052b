// Many operations in one round trip, like a Redis pipeline:
//
//   mproc::BatchBuilder batch = manager->NewBatch();
//   batch.Add(dict, "set", {"a", 1});
//   batch.Add(dict, "get", {"a"});
//   auto results = batch.Run();   // one StatusOr<Value> per operation
//
// Operations are named as in the op table ("get", "set", "append", ...,
// see client/op_table.cc) and run in order, each atomically, but the batch
// as a whole is not a transaction. Not thread-safe; use one per thread.
#ifndef MPROC_CLIENT_BATCH_H_
#define MPROC_CLIENT_BATCH_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/proxies.h"
#include "common/value.h"

namespace mproc {

class BatchBuilder {
 public:
  explicit BatchBuilder(std::shared_ptr<internal::Connection> connection);
  ~BatchBuilder();
  BatchBuilder(BatchBuilder&&) noexcept;

  // Queues `op` on `object`; returns its position in the results.
  // INVALID_ARGUMENT (reported by Run) for an op the kind does not have.
  size_t Add(const ObjectProxy& object, const std::string& op, List args = {});
  // The same, naming the object by kind ("dict", ...) and name.
  size_t Add(const std::string& kind, const std::string& name,
             const std::string& op, List args = {});

  size_t size() const;

  // Sends everything queued and empties the builder. The outer status is
  // the transport's (UNAVAILABLE, ...); each operation has its own.
  absl::StatusOr<std::vector<absl::StatusOr<Value>>> Run();

 private:
  struct Pending;
  std::shared_ptr<internal::Connection> connection_;
  std::unique_ptr<Pending> pending_;
};

}  // namespace mproc

#endif  // MPROC_CLIENT_BATCH_H_
