#include "client/batch.h"

#include "absl/strings/str_cat.h"
#include "client/internal/connection.h"
#include "common/op_table.h"
#include "common/value_checks.h"
#include "common/wire.h"

namespace mproc {

struct BatchBuilder::Pending {
  std::vector<pb::Request> requests;
  // Errors found while queuing, by position; reported by Run.
  std::vector<absl::Status> errors;
  const OpInfo* last_op = nullptr;
};

BatchBuilder::BatchBuilder(std::shared_ptr<internal::Connection> connection)
    : connection_(std::move(connection)), pending_(new Pending) {}
BatchBuilder::~BatchBuilder() = default;
BatchBuilder::BatchBuilder(BatchBuilder&&) noexcept = default;

size_t BatchBuilder::Add(const ObjectProxy& object, const std::string& op,
                         List args) {
  return Add(object.kind(), object.name(), op, std::move(args));
}

size_t BatchBuilder::Add(const std::string& kind_name, const std::string& name,
                         const std::string& op, List args) {
  const size_t position = pending_->errors.size();
  // Batches usually repeat one op; look it up once.
  const OpInfo* info = pending_->last_op;
  if (info == nullptr || op != info->name ||
      kind_name != KindName(info->kind)) {
    std::optional<pb::Kind> kind = KindFromName(kind_name);
    info = kind ? FindOpByName(*kind, op) : nullptr;
    pending_->last_op = info;
  }
  if (info == nullptr) {
    pending_->errors.push_back(absl::InvalidArgumentError(
        absl::StrCat(kind_name, " '", name, "' has no operation '", op, "'")));
    return position;
  }
  for (size_t i = 0; i < args.size(); ++i) {
    // Untyped: held to what the manager reads arguments with.
    if (absl::Status s = CheckValueToSend(args[i], kMaxArgumentDepth);
        !s.ok()) {
      pending_->errors.push_back(absl::InvalidArgumentError(
          absl::StrCat(kind_name, " '", name, "': argument ", i + 1, " of ", op,
                       ": ", s.message())));
      return position;
    }
  }
  pb::Request request;
  request.set_op(info->op);
  request.set_name(name);
  for (const Value& arg : args) ValueToProto(arg, request.add_args());
  pending_->requests.push_back(std::move(request));
  pending_->errors.push_back(absl::OkStatus());
  return position;
}

size_t BatchBuilder::size() const { return pending_->errors.size(); }

absl::StatusOr<std::vector<absl::StatusOr<Value>>> BatchBuilder::Run() {
  Pending batch;
  std::swap(batch, *pending_);
  pending_->last_op = batch.last_op;
  std::vector<pb::Response> responses;
  if (!batch.requests.empty()) {
    absl::Status sent = connection_->Run(std::move(batch.requests), &responses);
    if (!sent.ok()) return sent;
  }
  std::vector<absl::StatusOr<Value>> results;
  results.reserve(batch.errors.size());
  size_t next = 0;
  for (const absl::Status& queued : batch.errors) {
    if (!queued.ok()) {
      results.push_back(queued);
      continue;
    }
    const pb::Response& response = responses[next++];
    absl::Status status = StatusFromResponse(response);
    if (status.ok()) {
      results.push_back(ValueFromProto(response.result()));
    } else {
      results.push_back(status);
    }
  }
  return results;
}

}  // namespace mproc
