// A worker binary with tasks of its own: link //worker, register functions
// with MPROC_TASK, and hand main to mproc::WorkerMain. Run it like
// `mproc worker`:
//
//   bazel-bin/examples/pool_worker --manager 127.0.0.1:50051 --processes 3
//
// and call the tasks from any client: pool->Map("square", {1, 2, 3}).
#include <signal.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "absl/time/clock.h"
#include "worker/supervisor.h"
#include "worker/task_registry.h"

namespace {

int64_t Square(int64_t x) { return x * x; }

int64_t Add(int64_t a, int64_t b) { return a + b; }

// The seed tutorial's worker(msg): sleeps, then says which process ran it.
mproc::Map Worker(int64_t msg, double seconds) {
  absl::SleepFor(absl::Seconds(seconds));
  return mproc::Map{{"msg", msg}, {"pid", static_cast<int64_t>(getpid())}};
}

// Keyword arguments arrive with the raw (List, Map) signature.
absl::StatusOr<mproc::Value> Greet(const mproc::List& args,
                                   const mproc::Map& kwargs) {
  if (args.size() != 1 || !args[0].is_string()) {
    return mproc::TaskArgumentError("greet takes one name");
  }
  std::string greeting = "hello";
  if (auto it = kwargs.find(mproc::Value("greeting"));
      it != kwargs.end() && it->second.is_string()) {
    greeting = it->second.string_value();
  }
  return mproc::Value(greeting + ", " + args[0].string_value());
}

// Run once per worker process with --initializer init (Python's Pool
// initializer): state every task of that process sees.
bool initialized = false;
void Init() { initialized = true; }
bool Initialized() { return initialized; }

// Kills the process running it, as a segfault or the OOM killer would.
void Crash() { raise(SIGKILL); }

// A result of `size` bytes (for the message-limit check).
mproc::Bytes Blob(int64_t size) {
  return mproc::Bytes{std::string(static_cast<size_t>(size), 'x')};
}

// A value nested `levels` lists deep (for the depth-limit checks: past the
// limit, its result cannot be read, and the caller is told so).
mproc::Value Nest(int64_t levels) {
  mproc::Value v(levels);
  for (int64_t i = 0; i < levels; ++i) v = mproc::Value(mproc::List{v});
  return v;
}

// Fails its first `failures` calls (counted as lines appended to `path`),
// then answers how many calls there were: a task that succeeds on retry.
absl::StatusOr<mproc::Value> Flaky(const mproc::List& args, const mproc::Map&) {
  if (args.size() != 2 || !args[0].is_string() || !args[1].is_int()) {
    return mproc::TaskArgumentError("flaky takes (path, failures)");
  }
  { std::ofstream(args[0].string_value(), std::ios::app) << "call\n"; }
  std::ifstream in(args[0].string_value());
  int64_t calls = 0;
  for (std::string line; std::getline(in, line);) ++calls;
  if (calls <= args[1].int_value()) {
    return absl::FailedPreconditionError("flaky: not yet");
  }
  return mproc::Value(calls);
}

}  // namespace

MPROC_TASK("flaky", Flaky);
MPROC_TASK("square", Square);
MPROC_TASK("add", Add);
MPROC_TASK("worker", Worker);
MPROC_TASK("greet", Greet);
MPROC_TASK("crash", Crash);
MPROC_TASK("init", Init);
MPROC_TASK("initialized", Initialized);
MPROC_TASK("blob", Blob);
MPROC_TASK("nest", Nest);

int main(int argc, char** argv) { return mproc::WorkerMain(argc, argv); }
