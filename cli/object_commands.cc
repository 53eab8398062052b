// `mproc dict|list|value|array|namespace|queue OP NAME [ARGS]`, `mproc
// objects`, `mproc delete NAME` and `mproc info`: one operation each, through
// the same client library an application uses.
#include <cstdlib>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <system_error>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "cli/command_line.h"
#include "cli/values.h"
#include "client/manager.h"
#include "common/op_table.h"

namespace mproc {
namespace cli {
namespace {

void PrintKindUsage(pb::Kind kind) {
  std::cout << "usage: mproc " << KindName(kind) << " OP NAME [ARGS]\n\nOps:\n";
  for (const OpInfo* op : OpsOfKind(kind)) {
    std::cout << "  mproc " << KindName(kind) << " " << op->name << " NAME"
              << (op->usage[0] ? " " : "") << op->usage << "\n";
  }
  if (kind == pb::LIST) std::cout << "  mproc list items NAME\n";
  if (kind == pb::EVENT) {
    std::cout << "\nwait blocks until the event is set: for ever, or up to "
                 "--timeout S\nseconds (then exit code 1).\n";
  }
  if (kind == pb::QUEUE) {
    std::cout << "\nget and put wait while the queue is empty or full: for "
                 "ever, or up to\n--timeout S seconds (then exit code 1 with "
                 "the reason).\n";
  }
  if (kind == pb::VALUE || kind == pb::ARRAY) {
    std::cout << "\n--type T creates the " << KindName(kind)
              << " if missing (int, double, bool, string, bytes)"
              << (kind == pb::ARRAY ? " with --length N elements" : "")
              << ".\n`value set` infers the type from VALUE when --type is "
                 "not given.\n";
  }
  std::cout << "\nA value that starts like JSON (a digit, -1, [, {, \", true, "
               "false, null) must\nbe JSON (numbers with leading zeros such "
               "as 007 stay text); any other word\nis text; --string takes "
               "every value as text. Results print as JSON\n(bytes, NaN, "
               "non-string keys in typed forms such as {\"$bytes\": ...});\n"
               "--raw prints a string or bytes result as it is.\n";
}

const char* TypeOfValue(const Value& v) {
  switch (v.type()) {
    case Value::Type::kInt:
      return "int";
    case Value::Type::kDouble:
      return "double";
    case Value::Type::kBool:
      return "bool";
    case Value::Type::kBytes:
      return "bytes";
    default:
      return "string";
  }
}

// Creates a typed Value or Array when the command line gives --type.
absl::Status OpenTyped(Manager& manager, pb::Kind kind, const std::string& name,
                       const CommandLine& cl) {
  std::optional<std::string> type = cl.Flag("type");
  if (!type) return absl::OkStatus();
  if (kind == pb::VALUE) return manager.Value(name, *type).status();
  int64_t length = 0;
  if (auto text = cl.Flag("length");
      text && !absl::SimpleAtoi(*text, &length)) {
    return absl::InvalidArgumentError("--length must be an integer");
  }
  return manager.Array(name, *type, length).status();
}

// Runs one operation named as on the command line.
absl::StatusOr<Value> RunOne(Manager& manager, pb::Kind kind,
                             const std::string& name, const std::string& op,
                             const List& args) {
  BatchBuilder batch = manager.NewBatch();
  batch.Add(KindName(kind), name, op, args);
  auto results = batch.Run();
  if (!results.ok()) return results.status();
  return (*results)[0];
}

bool PrintsNothing(const std::string& op, const Value& result) {
  static const char* const kWrites[] = {
      "set", "del",      "update", "clear",     "insert", "remove",
      "put", "put_many", "close",  "task_done", "release"};
  if (!result.is_null()) return false;
  for (const char* w : kWrites) {
    if (op == w) return true;
  }
  return false;
}

}  // namespace

std::string ManagerAddressFromFlags(const CommandLine& cl) {
  std::string address = kDefaultManagerAddress;
  if (const char* env = std::getenv("MPROC_ADDRESS"); env && *env) {
    address = env;
  }
  return cl.Flag("manager").value_or(address);
}

void TlsFromFlags(const CommandLine& cl, ConnectOptions* options) {
  options->tls_ca = cl.Flag("tls-ca").value_or("");
  options->tls_cert = cl.Flag("tls-cert").value_or("");
  options->tls_key = cl.Flag("tls-key").value_or("");
  options->tls_server_name = cl.Flag("tls-server-name").value_or("");
}

absl::StatusOr<std::unique_ptr<Manager>> ConnectFromFlags(
    const CommandLine& cl) {
  const std::string address = ManagerAddressFromFlags(cl);
  ConnectOptions options;
  options.no_auth = cl.Flag("no-auth").value_or("false") == "true";
  if (options.no_auth && cl.Flag("authkey-file")) {
    return absl::InvalidArgumentError(
        "--no-auth and --authkey-file exclude each other");
  }
  if (auto file = cl.Flag("authkey-file")) {
    absl::StatusOr<std::string> key = LoadAuthkey(*file);
    if (!key.ok()) return key.status();
    options.authkey = *key;
  }  // else Connect finds the default, unless --no-auth
  options.user = cl.Flag("user").value_or("");
  TlsFromFlags(cl, &options);
  return Manager::Connect(address, options);
}

std::string ErrorText(const absl::Status& s) {
  return absl::StrCat(absl::StatusCodeToString(s.code()), ": ", s.message());
}

int RunObjectCommand(const CommandLine& cl) {
  const pb::Kind kind = *KindFromName(cl.positional[0]);
  if (cl.help || cl.positional.size() < 3) {
    PrintKindUsage(kind);
    return cl.help ? kExitOk : kExitUsage;
  }
  std::string op = cl.positional[1];
  if (kind == pb::LIST && op == "items") op = "slice";
  const OpInfo* info = FindOpByName(kind, op);
  if (info == nullptr) {
    return Fail(kExitUsage,
                absl::StrCat(KindName(kind), " has no operation '", op,
                             "' (see mproc ", KindName(kind), " --help)"));
  }
  const std::string& name = cl.positional[2];
  List args;
  const bool as_string = cl.Flag("string").has_value();
  for (size_t i = 3; i < cl.positional.size(); ++i) {
    absl::StatusOr<Value> arg = ParseCliValue(cl.positional[i], as_string);
    if (!arg.ok()) return Fail(kExitUsage, std::string(arg.status().message()));
    args.push_back(*std::move(arg));
  }
  if (std::optional<std::string> timeout = cl.Flag("timeout")) {
    double seconds;
    const bool queue_wait = kind == pb::QUEUE && (op == "get" || op == "put");
    const bool event_wait = kind == pb::EVENT && op == "wait";
    if (!queue_wait && !event_wait) {
      return Fail(kExitUsage,
                  "--timeout applies to queue get and put, and event wait");
    }
    if (!absl::SimpleAtod(*timeout, &seconds) || !(seconds >= 0)) {
      return Fail(kExitUsage, "--timeout must be a number of seconds >= 0");
    }
    if (queue_wait && args.size() == (op == "put" ? 1u : 0u)) {
      args.push_back(true);  // block
    }
    args.push_back(seconds);
  }
  const int n = static_cast<int>(args.size());
  if (n < info->min_args || n > info->max_args) {
    return Fail(kExitUsage, absl::StrCat("usage: mproc ", KindName(kind), " ",
                                         op, " NAME ", info->usage));
  }

  absl::StatusOr<std::unique_ptr<Manager>> manager = ConnectFromFlags(cl);
  if (!manager.ok()) return FailStatus(manager.status());
  if (kind == pb::VALUE || kind == pb::ARRAY) {
    absl::Status opened = OpenTyped(**manager, kind, name, cl);
    if (!opened.ok()) return FailStatus(opened);
  }
  absl::StatusOr<Value> result = RunOne(**manager, kind, name, op, args);
  if (result.status().code() == absl::StatusCode::kNotFound &&
      kind == pb::VALUE && op == "set" && !cl.Flag("type")) {
    // `mproc value set NAME X` on a new name creates it with X's type.
    absl::Status opened =
        (*manager)->Value(name, TypeOfValue(args[0])).status();
    if (!opened.ok()) return FailStatus(opened);
    result = RunOne(**manager, kind, name, op, args);
  }
  if (!result.ok()) return FailStatus(result.status());
  if (kind == pb::EVENT && op == "wait" && *result == Value(false)) {
    return Fail(kExitFailed, absl::StrCat("event '", name,
                                          "' was not set within the timeout"));
  }
  if (!PrintsNothing(op, *result)) {
    std::cout << FormatResult(*result, cl.Flag("raw").has_value()) << std::endl;
  }
  return kExitOk;
}

int RunObjectsCommand(const CommandLine& cl) {
  if (cl.help) {
    std::cout << "usage: mproc objects [--json]\n\nLists every object the "
                 "manager holds: kind, name and size.\n";
    return kExitOk;
  }
  absl::StatusOr<std::unique_ptr<Manager>> manager = ConnectFromFlags(cl);
  if (!manager.ok()) return FailStatus(manager.status());
  absl::StatusOr<std::vector<ObjectInfo>> objects = (*manager)->Objects();
  if (!objects.ok()) return FailStatus(objects.status());
  if (cl.Flag("json")) {
    List rows;
    for (const ObjectInfo& o : *objects) {
      Map row = o.details;
      row[Value("kind")] = o.kind;
      row[Value("name")] = o.name;
      row[Value("size")] = o.size;
      rows.push_back(std::move(row));
    }
    std::cout << Value(std::move(rows)).ToJson() << std::endl;
    return kExitOk;
  }
  std::cout << std::left << std::setw(10) << "KIND" << std::setw(32) << "NAME"
            << std::setw(10) << "SIZE"
            << "DETAILS\n";
  for (const ObjectInfo& o : *objects) {
    std::cout << std::setw(10) << o.kind << std::setw(32) << o.name
              << std::setw(10) << o.size
              << (o.details.empty() ? "" : Value(o.details).ToJson()) << "\n";
  }
  return kExitOk;
}

int RunDeleteCommand(const CommandLine& cl) {
  if (cl.help || cl.positional.size() != 2) {
    std::cout << "usage: mproc delete NAME\n\nDeletes the object NAME.\n";
    return cl.help ? kExitOk : kExitUsage;
  }
  absl::StatusOr<std::unique_ptr<Manager>> manager = ConnectFromFlags(cl);
  if (!manager.ok()) return FailStatus(manager.status());
  absl::Status deleted = (*manager)->DeleteObject(cl.positional[1]);
  if (!deleted.ok()) return FailStatus(deleted);
  return kExitOk;
}

int RunInfoCommand(const CommandLine& cl) {
  if (cl.help) {
    std::cout << "usage: mproc info\n\nPrints the manager's version, instance "
                 "id, uptime and object count as JSON.\n";
    return kExitOk;
  }
  absl::StatusOr<std::unique_ptr<Manager>> manager = ConnectFromFlags(cl);
  if (!manager.ok()) return FailStatus(manager.status());
  absl::StatusOr<ServerInfo> info = (*manager)->Info();
  if (!info.ok()) return FailStatus(info.status());
  std::cout << Value(Map{{"address", (*manager)->address()},
                         {"version", info->version},
                         {"instance_id", info->instance_id},
                         {"uptime_seconds", info->uptime_seconds},
                         {"objects", info->objects},
                         {"storage", Value(info->storage)}})
                   .ToJson()
            << std::endl;
  return kExitOk;
}

int RunBackupCommand(const CommandLine& cl) {
  if (cl.help || cl.positional.size() != 2) {
    std::cout << "usage: mproc backup DIR\n\nMakes a consistent copy of the "
                 "manager's data dir in DIR (on the manager's machine; it "
                 "must not exist) while the manager serves. Start a manager "
                 "from it with --data-dir DIR.\n";
    return cl.help ? kExitOk : kExitUsage;
  }
  absl::StatusOr<std::unique_ptr<Manager>> manager = ConnectFromFlags(cl);
  if (!manager.ok()) return FailStatus(manager.status());
  std::string dir = cl.positional[1];
  // The manager resolves a relative path against its own directory; ours
  // is what the user means.
  if (dir[0] != '/') {
    std::error_code ec;
    const std::filesystem::path absolute = std::filesystem::absolute(dir, ec);
    if (!ec) dir = absolute.string();
  }
  absl::Status done = (*manager)->Backup(dir);
  if (!done.ok()) return FailStatus(done);
  std::cout << Value(Map{{"backup", dir}}).ToJson() << std::endl;
  return kExitOk;
}

}  // namespace cli
}  // namespace mproc
