#include "common/op_table.h"

#include <array>

#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace mproc {
namespace {

using pb::Op;

constexpr pb::Kind kNone = pb::KIND_UNSPECIFIED;

constexpr OpInfo kOps[] = {
    {pb::OPEN, kNone, "open", 0, 0, ""},
    {pb::DELETE_OBJECT, kNone, "delete_object", 0, 0, ""},
    {pb::LIST_OBJECTS, kNone, "list_objects", 0, 2, "[AFTER] [LIMIT]"},
    {pb::SERVER_INFO, kNone, "server_info", 0, 0, ""},
    {pb::BACKUP, kNone, "backup", 1, 1, "DIR"},

    {pb::DICT_GET, pb::DICT, "get", 1, 2, "KEY [DEFAULT]"},
    {pb::DICT_SET, pb::DICT, "set", 2, 2, "KEY VALUE", true},
    {pb::DICT_SETDEFAULT, pb::DICT, "setdefault", 1, 2, "KEY [DEFAULT]", true},
    {pb::DICT_POP, pb::DICT, "pop", 1, 2, "KEY [DEFAULT]"},
    {pb::DICT_DELETE, pb::DICT, "del", 1, 1, "KEY"},
    {pb::DICT_CONTAINS, pb::DICT, "contains", 1, 1, "KEY"},
    {pb::DICT_LEN, pb::DICT, "len", 0, 0, ""},
    {pb::DICT_KEYS, pb::DICT, "keys", 0, 0, ""},
    {pb::DICT_VALUES, pb::DICT, "values", 0, 0, ""},
    {pb::DICT_ITEMS, pb::DICT, "items", 0, 0, ""},
    {pb::DICT_UPDATE, pb::DICT, "update", 1, 1, "MAP", true},
    {pb::DICT_CLEAR, pb::DICT, "clear", 0, 0, ""},
    {pb::DICT_GET_MANY, pb::DICT, "get_many", 1, 1, "KEYS"},
    {pb::DICT_ADD, pb::DICT, "add", 2, 2, "KEY DELTA", true},

    {pb::LIST_APPEND, pb::LIST, "append", 1, 1, "VALUE", true},
    {pb::LIST_EXTEND, pb::LIST, "extend", 1, 1, "LIST", true},
    {pb::LIST_GET, pb::LIST, "get", 1, 1, "INDEX"},
    {pb::LIST_SET, pb::LIST, "set", 2, 2, "INDEX VALUE"},
    {pb::LIST_INSERT, pb::LIST, "insert", 2, 2, "INDEX VALUE", true},
    {pb::LIST_POP, pb::LIST, "pop", 0, 1, "[INDEX]"},
    {pb::LIST_REMOVE, pb::LIST, "remove", 1, 1, "VALUE"},
    {pb::LIST_INDEX, pb::LIST, "index", 1, 1, "VALUE"},
    {pb::LIST_COUNT, pb::LIST, "count", 1, 1, "VALUE"},
    {pb::LIST_LEN, pb::LIST, "len", 0, 0, ""},
    {pb::LIST_SLICE, pb::LIST, "slice", 0, 2, "[START] [STOP]"},
    {pb::LIST_CLEAR, pb::LIST, "clear", 0, 0, ""},
    {pb::LIST_SET_SLICE, pb::LIST, "set_slice", 3, 3, "START STOP LIST", true},
    {pb::LIST_REVERSE, pb::LIST, "reverse", 0, 0, ""},
    {pb::LIST_SORT, pb::LIST, "sort", 0, 1, "[REVERSE]"},

    {pb::VALUE_GET, pb::VALUE, "get", 0, 0, ""},
    {pb::VALUE_SET, pb::VALUE, "set", 1, 1, "VALUE"},
    {pb::VALUE_ADD, pb::VALUE, "add", 1, 1, "DELTA"},
    {pb::VALUE_CAS, pb::VALUE, "compare_and_swap", 2, 2, "EXPECTED DESIRED"},

    {pb::ARRAY_LEN, pb::ARRAY, "len", 0, 0, ""},
    {pb::ARRAY_GET, pb::ARRAY, "get", 1, 1, "INDEX"},
    {pb::ARRAY_SET, pb::ARRAY, "set", 2, 2, "INDEX VALUE"},
    {pb::ARRAY_SLICE, pb::ARRAY, "slice", 0, 2, "[START] [STOP]"},
    {pb::ARRAY_ADD, pb::ARRAY, "add", 2, 2, "INDEX DELTA"},

    {pb::NS_GET, pb::NAMESPACE, "get", 1, 1, "ATTRIBUTE"},
    {pb::NS_SET, pb::NAMESPACE, "set", 2, 2, "ATTRIBUTE VALUE", true},
    {pb::NS_DELETE, pb::NAMESPACE, "del", 1, 1, "ATTRIBUTE"},
    {pb::NS_LIST, pb::NAMESPACE, "items", 0, 0, ""},

    {pb::QUEUE_PUT, pb::QUEUE, "put", 1, 3, "ITEM [BLOCK] [TIMEOUT]", true},
    // A getter waits on the stored queue: get creates it too.
    {pb::QUEUE_GET, pb::QUEUE, "get", 0, 2, "[BLOCK] [TIMEOUT]", true},
    {pb::QUEUE_SIZE, pb::QUEUE, "len", 0, 0, ""},
    {pb::QUEUE_EMPTY, pb::QUEUE, "empty", 0, 0, ""},
    {pb::QUEUE_FULL, pb::QUEUE, "full", 0, 0, ""},
    {pb::QUEUE_PUT_MANY, pb::QUEUE, "put_many", 1, 1, "LIST", true},
    {pb::QUEUE_GET_MANY, pb::QUEUE, "get_many", 1, 2, "MAX_N [TIMEOUT]", true},
    {pb::QUEUE_TASK_DONE, pb::QUEUE, "task_done", 0, 0, ""},
    {pb::QUEUE_JOIN, pb::QUEUE, "join", 0, 1, "[TIMEOUT]", true},
    {pb::QUEUE_CLOSE, pb::QUEUE, "close", 0, 0, "", true},

    // Locks, semaphores and events must be opened (created) first.
    {pb::LOCK_ACQUIRE, pb::LOCK, "acquire", 1, 3, "THREAD [BLOCK] [TIMEOUT]"},
    {pb::LOCK_RELEASE, pb::LOCK, "release", 1, 1, "THREAD"},
    {pb::LOCK_LOCKED, pb::LOCK, "locked", 0, 0, ""},
    {pb::SEM_ACQUIRE, pb::SEMAPHORE, "acquire", 0, 2, "[BLOCK] [TIMEOUT]"},
    {pb::SEM_RELEASE, pb::SEMAPHORE, "release", 0, 1, "[N]"},
    {pb::SEM_VALUE, pb::SEMAPHORE, "value", 0, 0, ""},
    {pb::EVENT_SET, pb::EVENT, "set", 0, 0, "", true},
    {pb::EVENT_CLEAR, pb::EVENT, "clear", 0, 0, "", true},
    {pb::EVENT_IS_SET, pb::EVENT, "is_set", 0, 0, ""},
    {pb::EVENT_WAIT, pb::EVENT, "wait", 0, 1, "[TIMEOUT]", true},
    {pb::COND_ACQUIRE, pb::CONDITION, "acquire", 1, 3,
     "THREAD [BLOCK] [TIMEOUT]"},
    {pb::COND_RELEASE, pb::CONDITION, "release", 1, 1, "THREAD"},
    {pb::COND_WAIT, pb::CONDITION, "wait", 1, 2, "THREAD [TIMEOUT]"},
    {pb::COND_NOTIFY, pb::CONDITION, "notify", 0, 2, "[N] [THREAD]"},
    {pb::COND_NOTIFY_ALL, pb::CONDITION, "notify_all", 0, 1, "[THREAD]"},
    {pb::BARRIER_WAIT, pb::BARRIER, "wait", 0, 1, "[TIMEOUT]"},
    {pb::BARRIER_ABORT, pb::BARRIER, "abort", 0, 0, ""},
    {pb::BARRIER_RESET, pb::BARRIER, "reset", 0, 0, ""},
    {pb::BARRIER_STATE, pb::BARRIER, "state", 0, 0, ""},

    // A pool is created by any use.
    {pb::POOL_SUBMIT, pb::POOL, "submit", 2, 2, "INBOX TASKS", true},
    {pb::POOL_RESULTS, pb::POOL, "results", 2, 3, "INBOX MAX_N [TIMEOUT]",
     true},
    {pb::POOL_GET, pb::POOL, "get", 1, 2, "TASK_ID [TIMEOUT]"},
    {pb::POOL_CANCEL, pb::POOL, "cancel", 1, 1, "INBOX"},
    {pb::POOL_STATUS, pb::POOL, "status", 0, 0, ""},
    {pb::POOL_DETACH, pb::POOL, "detach", 1, 1, "INBOX"},
    {pb::POOL_TASKS, pb::POOL, "tasks", 0, 1, "[FILTER]"},
    {pb::POOL_TASK, pb::POOL, "task", 1, 1, "TASK_ID"},
    {pb::POOL_CANCEL_TASK, pb::POOL, "cancel_task", 1, 2, "TASK_ID [INBOX]"},
    {pb::POOL_REQUEUE, pb::POOL, "requeue", 2, 2, "INBOX TASK_IDS|all"},
    {pb::POOL_WORKER_NEXT, pb::POOL, "worker_next", 4, 5,
     "WORKER DONE RETURNED MAX_N [TIMEOUT]", true},
    {pb::POOL_WORKER_STOP, pb::POOL, "worker_stop", 0, 0, "", true},
    {pb::POOL_WORKER_HOLDS, pb::POOL, "worker_holds", 1, 2,
     "TASK_ID [ATTEMPT]"},
};

}  // namespace

const OpInfo* FindOp(pb::Op op) {
  // Indexed once: the manager looks up every request's op.
  constexpr int kSlots = 256;  // above every op number
  static const std::array<const OpInfo*, kSlots>* const index = [] {
    auto* table = new std::array<const OpInfo*, kSlots>{};
    for (const OpInfo& info : kOps) (*table)[info.op] = &info;
    return table;
  }();
  if (op < 0 || op >= kSlots) return nullptr;
  return (*index)[op];
}

const OpInfo* FindOpByName(pb::Kind kind, absl::string_view name) {
  for (const OpInfo& info : kOps) {
    if (info.kind == kind && name == info.name) return &info;
  }
  return nullptr;
}

int TimeoutArgument(const OpInfo& op) {
  int index = 0;
  for (absl::string_view word :
       absl::StrSplit(op.usage, ' ', absl::SkipEmpty())) {
    if (absl::StripPrefix(absl::StripSuffix(word, "]"), "[") == "TIMEOUT") {
      return index;
    }
    ++index;
  }
  return -1;
}

std::vector<const OpInfo*> OpsOfKind(pb::Kind kind) {
  std::vector<const OpInfo*> out;
  for (const OpInfo& info : kOps) {
    if (info.kind == kind) out.push_back(&info);
  }
  return out;
}

std::string OpName(pb::Op op) {
  const OpInfo* info = FindOp(op);
  return info == nullptr ? pb::Op_Name(op) : std::string(info->name);
}

const char* KindName(pb::Kind kind) {
  switch (kind) {
    case pb::DICT:
      return "dict";
    case pb::LIST:
      return "list";
    case pb::VALUE:
      return "value";
    case pb::ARRAY:
      return "array";
    case pb::NAMESPACE:
      return "namespace";
    case pb::QUEUE:
      return "queue";
    case pb::LOCK:
      return "lock";
    case pb::SEMAPHORE:
      return "semaphore";
    case pb::EVENT:
      return "event";
    case pb::CONDITION:
      return "condition";
    case pb::BARRIER:
      return "barrier";
    case pb::POOL:
      return "pool";
    default:
      return "object";
  }
}

std::optional<pb::Kind> KindFromName(absl::string_view name) {
  for (pb::Kind k : {pb::DICT, pb::LIST, pb::VALUE, pb::ARRAY, pb::NAMESPACE,
                     pb::QUEUE, pb::LOCK, pb::SEMAPHORE, pb::EVENT,
                     pb::CONDITION, pb::BARRIER, pb::POOL}) {
    if (name == KindName(k)) return k;
  }
  return std::nullopt;
}

}  // namespace mproc
