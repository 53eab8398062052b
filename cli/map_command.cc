// `mproc map TASK --args-file F`: one task per line of F (a JSON list of
// arguments), results as JSON lines in the lines' order, progress on
// stderr (cli/progress.h).
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "cli/command_line.h"
#include "cli/pool_client.h"
#include "cli/progress.h"

namespace mproc {
namespace cli {
namespace {

constexpr char kMapUsage[] =
    R"(usage: mproc map TASK --args-file F [--timeout S] [--pool NAME]

Runs task TASK once per line of F, each line a JSON list of its arguments
(blank lines are skipped), and prints each result as one JSON line, in the
order of the lines. Progress goes to stderr: a bar with the rate and the
time left on a terminal, else a line at every tenth. --timeout S limits
each task's run time. Stops at the first failed task: its error and line
on stderr, exit 5. A line that is not a JSON list: exit 2 before anything
runs.
)";

// The argument lists of F, or the error naming the bad line.
absl::StatusOr<std::vector<List>> ReadArgsFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return absl::NotFoundError(absl::StrCat("cannot read --args-file ", path));
  }
  std::vector<List> lines;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (absl::StripAsciiWhitespace(line).empty()) continue;
    absl::StatusOr<Value> args = Value::FromJson(line);
    if (!args.ok() || !args->is_list()) {
      return absl::InvalidArgumentError(absl::StrCat(
          path, ":", number, ": not a JSON list of arguments",
          args.ok() ? "" : absl::StrCat(" (", args.status().message(), ")")));
    }
    lines.push_back(std::move(args->mutable_list()));
  }
  return lines;
}

}  // namespace

int RunMapCommand(const CommandLine& cl) {
  if (cl.help) {
    std::cout << kMapUsage;
    return kExitOk;
  }
  std::optional<std::string> file = cl.Flag("args-file");
  if (cl.positional.size() != 2 || !file) return Fail(kExitUsage, kMapUsage);
  absl::StatusOr<std::vector<List>> lines = ReadArgsFile(*file);
  if (!lines.ok()) {
    return Fail(lines.status().code() == absl::StatusCode::kNotFound
                    ? kExitFailed
                    : kExitUsage,
                std::string(lines.status().message()));
  }
  absl::StatusOr<absl::Duration> timeout = TimeoutFlag(cl);
  if (!timeout.ok()) {
    return Fail(kExitUsage, std::string(timeout.status().message()));
  }
  TaskOptions options;
  options.timeout = *timeout;
  absl::StatusOr<PoolClient> client = OpenPool(cl);
  if (!client.ok()) return FailStatus(client.status());
  // Submitted all at once (the pool batches them), collected in order.
  std::vector<AsyncResult> results;
  results.reserve(lines->size());
  for (List& args : *lines) {
    results.push_back(client->pool->ApplyAsync(
        cl.positional[1], std::move(args), {}, {}, {}, options));
  }
  Progress progress("map", static_cast<int64_t>(results.size()));
  for (size_t i = 0; i < results.size(); ++i) {
    absl::StatusOr<Value> result = results[i].Get();
    if (!result.ok()) {
      progress.Finish(static_cast<int64_t>(i));
      std::cout.flush();
      std::cerr << "mproc: map: item " << i + 1 << " of " << *file << ": ";
      return FailStatus(result.status());
    }
    std::cout << result->ToJson() << "\n";
    progress.Update(static_cast<int64_t>(i + 1));
  }
  std::cout.flush();
  progress.Finish(static_cast<int64_t>(results.size()));
  return kExitOk;
}

}  // namespace cli
}  // namespace mproc
