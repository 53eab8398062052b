#include "server/dispatcher.h"

#include <algorithm>
#include <chrono>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/log.h"
#include "common/op_table.h"
#include "common/version.h"
#include "common/wire.h"
#include "server/answer_budget.h"
#include "server/command_args.h"
#include "server/commands.h"
#include "server/deadline_timer.h"
#include "server/errors.h"
#include "server/object_factory.h"

namespace mproc {
namespace {

constexpr size_t kMaxNameLength = 256;

absl::Status UnknownOp(int op) {
  return absl::InvalidArgumentError(absl::StrCat("unknown operation ", op));
}

}  // namespace

absl::Status ValidateObjectName(absl::string_view name) {
  if (name.empty()) {
    return absl::InvalidArgumentError("object name must not be empty");
  }
  if (name.size() > kMaxNameLength) {
    return absl::InvalidArgumentError(
        absl::StrCat("object name '", name.substr(0, 32), "...' is ",
                     name.size(), " bytes; the limit is ", kMaxNameLength));
  }
  for (unsigned char c : name) {
    if (c < 0x20 || c >= 0x7f) {
      return absl::InvalidArgumentError(
          absl::StrCat("object name contains the non-printable byte 0x",
                       absl::Hex(c, absl::kZeroPad2)));
    }
  }
  return absl::OkStatus();
}

Dispatcher::Dispatcher(ObjectStore* store, std::string instance_id,
                       DispatcherOptions options)
    : store_(store),
      instance_id_(std::move(instance_id)),
      start_time_(absl::Now()),
      options_(std::move(options)) {}

void Dispatcher::Execute(const pb::Request& request, pb::Response* response,
                         const Access& access) {
  LastObject last;
  CallContext call;
  ExecuteWith(request, response, &last, &call, access);
}

void Dispatcher::ExecuteUnmetered(const pb::Request& request,
                                  pb::Response* response,
                                  const Access& access) {
  LastObject last;
  CallContext call;
  ExecuteUncounted(request, response, &last, &call, access);
}

void Dispatcher::ExecuteFrame(const pb::RequestFrame& frame, FrameAnswers* out,
                              const std::shared_ptr<ReplySink>& sink,
                              const std::shared_ptr<ClientSession>& session,
                              const Access& access) {
  LastObject last;
  auto* responses = out->frame.mutable_responses();
  responses->Reserve(responses->size() + frame.requests_size());
  for (const pb::Request& request : frame.requests()) {
    CallContext call;
    call.sink = sink;
    call.session = session;
    call.request_id = request.id();
    const int64_t bytes =
        ExecuteWith(request, responses->Add(), &last, &call, access);
    if (call.parked) {
      responses->RemoveLast();
      continue;
    }
    out->bytes += bytes;
    if (call.give_back) {
      out->give_backs.emplace_back(responses->size() - 1,
                                   std::move(call.give_back));
    }
  }
}

void Dispatcher::ExecuteFrame(const pb::RequestFrame& frame,
                              pb::ResponseFrame* out, const Access& access) {
  LastObject last;
  out->mutable_responses()->Reserve(out->responses_size() +
                                    frame.requests_size());
  for (const pb::Request& request : frame.requests()) {
    CallContext call;
    call.request_id = request.id();
    ExecuteWith(request, out->add_responses(), &last, &call, access);
  }
}

int64_t Dispatcher::ExecuteWith(const pb::Request& request,
                                pb::Response* response, LastObject* last,
                                CallContext* call, const Access& access) {
  OpStats* const stats = options_.op_stats;
  if (stats == nullptr) {
    return ExecuteUncounted(request, response, last, call, access);
  }
  // The steady clock: a wall clock stepped back must not make a negative
  // sample.
  const auto start = std::chrono::steady_clock::now();
  const int64_t bytes = ExecuteUncounted(request, response, last, call, access);
  const auto took = std::chrono::steady_clock::now() - start;
  const int code = call->parked
                       ? OpStats::kParked
                       : std::min(response->code(), OpStats::kParked - 1);
  const int64_t nanos =
      std::chrono::duration_cast<std::chrono::nanoseconds>(took).count();
  stats->Record(request.op(), code, nanos);
  int64_t skipped = 0;
  if (!call->parked && absl::Nanoseconds(nanos) > options_.slow_op &&
      slow_log_.Take(&skipped)) {
    const std::string op = OpName(request.op());
    Log(LogLevel::kWarning, "slow_op",
        absl::StrCat(op, request.name().empty() ? "" : " on '", request.name(),
                     request.name().empty() ? "" : "'", " took ",
                     absl::FormatDuration(absl::Nanoseconds(nanos)),
                     skipped > 0 ? absl::StrCat(" (and ", skipped,
                                                " more slow ones not shown)")
                                 : ""),
        {{"op", op},
         {"object", request.name()},
         {"ms", static_cast<double>(nanos) / 1e6}});
  }
  return bytes;
}

int64_t Dispatcher::ExecuteUncounted(const pb::Request& request,
                                     pb::Response* response, LastObject* last,
                                     CallContext* call, const Access& access) {
  response->set_id(request.id());
  if (absl::Status allowed = access.Check(request); !allowed.ok()) {
    StatusToResponse(allowed, response);
    return static_cast<int64_t>(response->ByteSizeLong());
  }
  const int64_t limit = std::min(options_.max_answer_bytes, kMaxAnswerBytes);
  call->answer_limit = limit;
  call->may_run_commands = (access.roles & (kRoleAdmin | kRoleExec)) != 0;
  absl::StatusOr<Value> result = Run(request, last, call, access);
  if (call->parked) return 0;
  if (result.ok()) {
    ValueToProto(*result, response->mutable_result());
    const int64_t bytes = static_cast<int64_t>(response->ByteSizeLong());
    if (bytes <= limit) return bytes;
    // Too large to send: nothing was handed over after all.
    if (call->give_back) std::exchange(call->give_back, nullptr)();
    response->Clear();
    response->set_id(request.id());
    const OpInfo* op = FindOp(request.op());
    result = AnswerTooLarge(
        absl::StrCat(op != nullptr ? KindName(op->kind) : "object", " '",
                     request.name(), "'"),
        op != nullptr ? op->name : "the operation", bytes,
        /*at_least=*/false, limit);
  }
  StatusToResponse(result.status(), response);
  return static_cast<int64_t>(response->ByteSizeLong());
}

absl::StatusOr<Value> Dispatcher::Run(const pb::Request& request,
                                      LastObject* last, CallContext* call,
                                      const Access& access) {
  // One lookup: the op's row and the function that runs it.
  const Command* command = FindCommand(request.op());
  if (command == nullptr) return UnknownOp(request.op());
  const OpInfo* op = command->info;
  switch (op->op) {
    case pb::OPEN:
      last->object = nullptr;
      return Open(request);
    case pb::DELETE_OBJECT:
      last->object = nullptr;
      return DeleteObject(request);
    case pb::LIST_OBJECTS:
      return ListObjects(request, access);
    case pb::SERVER_INFO:
      return ServerInfo();
    case pb::BACKUP:
      return Backup(request);
    default:
      break;
  }

  // A run of requests on one object validates and looks up its name once.
  const bool same_object =
      last->object != nullptr && last->object->name() == request.name();
  if (!same_object) {
    if (absl::Status s = ValidateObjectName(request.name()); !s.ok()) return s;
  }
  const int n = request.args_size();
  if (n < op->min_args || n > op->max_args) {
    return absl::InvalidArgumentError(absl::StrCat(
        KindName(op->kind), " '", request.name(), "': ", op->name, " takes ",
        op->min_args == op->max_args
            ? absl::StrCat(op->min_args)
            : absl::StrCat(op->min_args, " to ", op->max_args),
        " argument(s), got ", n));
  }

  std::shared_ptr<SharedObject> object =
      same_object ? last->object : store_->Find(request.name());
  bool stored = true;
  if (object == nullptr) {
    if (op->kind == pb::VALUE || op->kind == pb::ARRAY) {
      return absl::NotFoundError(
          absl::StrCat(KindName(op->kind), " '", request.name(),
                       "' does not exist; open it with an element type first"));
    }
    if (op->kind == pb::LOCK || op->kind == pb::SEMAPHORE ||
        op->kind == pb::CONDITION || op->kind == pb::BARRIER) {
      return absl::NotFoundError(
          absl::StrCat(KindName(op->kind), " '", request.name(),
                       "' does not exist; open it first"));
    }
    // A dict, list or namespace springs into being on its first write;
    // reads see a missing one as empty and leave it missing.
    pb::CreateSpec spec;
    spec.set_kind(op->kind);
    if (op->kind == pb::POOL) {
      spec.set_result_ttl(absl::ToDoubleSeconds(options_.result_ttl));
      spec.set_task_records(options_.task_records);
    }
    auto create = [&] {
      return CreateObject(request.name(), spec, options_.max_object_bytes);
    };
    absl::StatusOr<std::shared_ptr<SharedObject>> made =
        op->creates ? store_->FindOrCreate(request.name(), spec, create)
                    : absl::StatusOr<std::shared_ptr<SharedObject>>(create());
    if (!made.ok()) return made.status();
    object = *std::move(made);
    stored = op->creates;
  }
  if (object->kind() != op->kind) return WrongKind(*object, op->kind);
  if (stored) last->object = object;

  List args;
  args.reserve(n);
  for (int i = 0; i < n; ++i) {
    // What a client stores leaves room for every answer that wraps it.
    absl::StatusOr<Value> arg =
        ValueFromProto(request.args(i), kMaxArgumentDepth);
    if (!arg.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(object->Describe(), ": argument ", i + 1, " of ",
                       op->name, ": ", arg.status().message()));
    }
    args.push_back(*std::move(arg));
  }
  return command->run(*object, CommandArgs(*object, *op, args), call);
}

absl::StatusOr<Value> Dispatcher::Open(const pb::Request& request) {
  if (absl::Status s = ValidateObjectName(request.name()); !s.ok()) return s;
  const pb::CreateSpec& spec = request.create();
  std::shared_ptr<SharedObject> lock;
  if (spec.kind() == pb::CONDITION) {
    // A condition shares a Lock, found or created by name.
    if (absl::Status s = ValidateObjectName(spec.lock()); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "condition '", request.name(), "': its lock name: ", s.message()));
    }
    pb::CreateSpec lock_spec;
    lock_spec.set_kind(pb::LOCK);
    absl::StatusOr<std::shared_ptr<SharedObject>> found =
        store_->FindOrCreate(spec.lock(), lock_spec, [&] {
          return CreateObject(spec.lock(), lock_spec,
                              options_.max_object_bytes);
        });
    if (!found.ok()) return found.status();
    if ((*found)->kind() != pb::LOCK) return WrongKind(**found, pb::LOCK);
    lock = *std::move(found);
  }
  absl::StatusOr<std::shared_ptr<SharedObject>> object =
      store_->FindOrCreate(request.name(), spec, [&] {
        return CreateObject(request.name(), spec, options_.max_object_bytes,
                            lock);
      });
  if (!object.ok()) return object.status();
  absl::Status matches = CheckMatchesSpec(**object, spec);
  if (!matches.ok()) return matches;
  return Value();
}

absl::StatusOr<Value> Dispatcher::DeleteObject(const pb::Request& request) {
  if (absl::Status s = ValidateObjectName(request.name()); !s.ok()) return s;
  absl::StatusOr<std::shared_ptr<SharedObject>> erased =
      store_->Erase(request.name());
  if (!erased.ok()) return erased.status();
  if (*erased == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("no object named '", request.name(), "'"));
  }
  (*erased)->OnDeleted();  // its parked calls hear of it
  return Value();
}

absl::StatusOr<Value> Dispatcher::ListObjects(const pb::Request& request,
                                              const Access& access) const {
  // A page at a time, so that a million objects never hold the manager up.
  std::string after;
  int64_t limit = kListObjectsPage;
  if (request.args_size() > 2) {
    return absl::InvalidArgumentError(
        "list_objects takes at most 2 arguments: [AFTER] [LIMIT]");
  }
  if (request.args_size() >= 1) {
    absl::StatusOr<Value> a = ValueFromProto(request.args(0));
    if (!a.ok() || !(a->is_string() || a->is_null())) {
      return absl::InvalidArgumentError(
          "list_objects: AFTER must be an object name (a string)");
    }
    if (a->is_string()) after = a->string_value();
  }
  if (request.args_size() == 2) {
    absl::StatusOr<Value> n = ValueFromProto(request.args(1));
    if (!n.ok() || !n->is_int() || n->int_value() < 1) {
      return absl::InvalidArgumentError(
          "list_objects: LIMIT must be an int >= 1");
    }
    limit = std::min(n->int_value(), kListObjectsPage);
  }
  List rows;
  for (const std::shared_ptr<SharedObject>& object :
       store_->Page(after, static_cast<size_t>(limit))) {
    // Names only beyond the caller's reach: no holders, sizes or counts.
    const bool reached = access.Reaches(object->name());
    Map row = reached ? object->Details() : Map{};
    row[Value("kind")] = KindName(object->kind());
    row[Value("name")] = object->name();
    if (reached) row[Value("size")] = object->Size();
    rows.push_back(std::move(row));
  }
  return Value(std::move(rows));
}

Value Dispatcher::ServerInfo() const {
  Map storage = options_.storage_info ? options_.storage_info()
                                      : Map{{"persistence", "memory"}};
  return Value(Map{
      {"version", kMprocVersion},
      {"instance_id", instance_id_},
      {"uptime_seconds", absl::ToDoubleSeconds(absl::Now() - start_time_)},
      {"objects", store_->Count()},
      {"timers", static_cast<int64_t>(DeadlineTimer::Default().Pending())},
      {"storage", Value(std::move(storage))},
      // Answered so far (cumulative: a rate is the change between two).
      {"requests",
       options_.op_stats == nullptr
           ? int64_t{0}
           : static_cast<int64_t>(options_.op_stats->GetLatency().count)},
  });
}

absl::StatusOr<Value> Dispatcher::Backup(const pb::Request& request) const {
  if (!options_.backup) {
    return absl::FailedPreconditionError(
        "backup: this manager keeps its objects in memory only (start it "
        "with --data-dir)");
  }
  absl::StatusOr<Value> dir = request.args_size() == 1
                                  ? ValueFromProto(request.args(0))
                                  : absl::StatusOr<Value>(Value());
  if (!dir.ok() || !dir->is_string() || dir->string_value().empty()) {
    return absl::InvalidArgumentError(
        "backup takes 1 argument: the directory to write (a string)");
  }
  if (absl::Status s = options_.backup(dir->string_value()); !s.ok()) return s;
  return Value();
}

}  // namespace mproc
