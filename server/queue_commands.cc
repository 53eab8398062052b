// Queue commands: argument checks for put/get and their variants.
#include "absl/strings/str_cat.h"
#include "server/command_args.h"
#include "server/commands.h"
#include "server/errors.h"
#include "server/queue_object.h"
#include "server/wait_args.h"

namespace mproc {

absl::StatusOr<Value> RunQueueCommand(QueueObject& q, const OpInfo& op,
                                      const CommandArgs& a,
                                      CallContext* call) {
  switch (op.op) {
    case pb::QUEUE_PUT:
    case pb::QUEUE_GET: {
      const size_t first = op.op == pb::QUEUE_PUT ? 1 : 0;
      absl::StatusOr<bool> block = BlockArg(q, op, a, first);
      if (!block.ok()) return block.status();
      absl::StatusOr<absl::Duration> timeout = TimeoutArg(q, op, a, first + 1);
      if (!timeout.ok()) return timeout.status();
      if (op.op == pb::QUEUE_GET) return q.Get(*block, *timeout, call);
      return q.Put(a.Take(0), *block, *timeout, call);
    }
    case pb::QUEUE_SIZE:
      return q.Size();
    case pb::QUEUE_EMPTY:
      return q.Size() == 0;
    case pb::QUEUE_FULL:
      return q.Full();
    case pb::QUEUE_PUT_MANY: {
      absl::StatusOr<const List*> items = a.ListArg(0, "items");
      if (!items.ok()) return items.status();
      absl::Status s = q.PutMany(std::move(a.Take(0).mutable_list()));
      if (!s.ok()) return s;
      return Value();
    }
    case pb::QUEUE_GET_MANY: {
      absl::StatusOr<int64_t> max_n = a.Int(0, "max_n");
      if (!max_n.ok()) return max_n.status();
      if (*max_n < 1) {
        return absl::InvalidArgumentError(absl::StrCat(
            q.Describe(), ": get_many needs max_n >= 1, got ", *max_n));
      }
      absl::StatusOr<absl::Duration> timeout = TimeoutArg(q, op, a, 1);
      if (!timeout.ok()) return timeout.status();
      return q.GetMany(*max_n, *timeout, call);
    }
    case pb::QUEUE_TASK_DONE:
      return Done(q.TaskDone());
    case pb::QUEUE_JOIN: {
      absl::StatusOr<absl::Duration> timeout = TimeoutArg(q, op, a, 0);
      if (!timeout.ok()) return timeout.status();
      return q.Join(*timeout, call);
    }
    case pb::QUEUE_CLOSE:
      q.Close();
      return Value();
    default:
      break;
  }
  return absl::UnimplementedError(absl::StrCat("queue op ", op.name));
}

}  // namespace mproc
