// Queue commands: argument checks for put/get and their variants.
#include <utility>

#include "absl/strings/str_cat.h"
#include "server/command_args.h"
#include "server/commands.h"
#include "server/queue_object.h"
#include "server/wait_args.h"

namespace mproc {
namespace {

using Result = absl::StatusOr<Value>;

Result Put(QueueObject& q, const CommandArgs& a, CallContext* call) {
  MPROC_ASSIGN_OR_RETURN(block, BlockArg(q, a.op(), a, 1));
  MPROC_ASSIGN_OR_RETURN(timeout, TimeoutArg(q, a.op(), a, 2));
  return q.Put(a.Take(0), block, timeout, call);
}

Result Get(QueueObject& q, const CommandArgs& a, CallContext* call) {
  MPROC_ASSIGN_OR_RETURN(block, BlockArg(q, a.op(), a, 0));
  MPROC_ASSIGN_OR_RETURN(timeout, TimeoutArg(q, a.op(), a, 1));
  return q.Get(block, timeout, call);
}

Result Size(QueueObject& q, const CommandArgs&, CallContext*) {
  return q.Size();
}

Result Empty(QueueObject& q, const CommandArgs&, CallContext*) {
  return q.Size() == 0;
}

Result Full(QueueObject& q, const CommandArgs&, CallContext*) {
  return q.Full();
}

Result PutMany(QueueObject& q, const CommandArgs& a, CallContext*) {
  if (absl::Status s = a.ListArg(0, "items").status(); !s.ok()) return s;
  return Done(q.PutMany(std::move(a.Take(0).mutable_list())));
}

Result GetMany(QueueObject& q, const CommandArgs& a, CallContext* call) {
  MPROC_ASSIGN_OR_RETURN(max_n, a.Int(0, "max_n"));
  if (max_n < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat(q.Describe(), ": get_many needs max_n >= 1, got ", max_n));
  }
  MPROC_ASSIGN_OR_RETURN(timeout, TimeoutArg(q, a.op(), a, 1));
  return q.GetMany(max_n, timeout, call);
}

Result TaskDone(QueueObject& q, const CommandArgs&, CallContext*) {
  return Done(q.TaskDone());
}

Result Join(QueueObject& q, const CommandArgs& a, CallContext* call) {
  MPROC_ASSIGN_OR_RETURN(timeout, TimeoutArg(q, a.op(), a, 0));
  return q.Join(timeout, call);
}

Result Close(QueueObject& q, const CommandArgs&, CallContext*) {
  return Done(q.Close());
}

constexpr CommandRow kRows[] = {
    {pb::QUEUE_PUT, On<QueueObject, Put>},
    {pb::QUEUE_GET, On<QueueObject, Get>},
    {pb::QUEUE_SIZE, On<QueueObject, Size>},
    {pb::QUEUE_EMPTY, On<QueueObject, Empty>},
    {pb::QUEUE_FULL, On<QueueObject, Full>},
    {pb::QUEUE_PUT_MANY, On<QueueObject, PutMany>},
    {pb::QUEUE_GET_MANY, On<QueueObject, GetMany>},
    {pb::QUEUE_TASK_DONE, On<QueueObject, TaskDone>},
    {pb::QUEUE_JOIN, On<QueueObject, Join>},
    {pb::QUEUE_CLOSE, On<QueueObject, Close>},
};

}  // namespace

absl::Span<const CommandRow> QueueCommands() { return kRows; }

}  // namespace mproc
