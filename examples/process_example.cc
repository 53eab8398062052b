// Local multiprocessing in C++: a child process with arguments, a Pipe
// back to the parent, and an external command — Python's Process, Pipe and
// subprocess.run, with absl::Status instead of exceptions.
//
//   bazel run //examples:process_example
#include <iostream>
#include <string>

#include "worker/process/pipe.h"
#include "worker/process/process.h"
#include "worker/process/subprocess.h"

int main() {
  auto pipe = mproc::Pipe();
  if (!pipe.ok()) return 1;
  auto& [parent_end, child_end] = *pipe;

  // The callable and its arguments are copied into the child at Start().
  mproc::Process worker(
      [&child_end = child_end](int n, const std::string& label) {
        long sum = 0;
        for (int i = 1; i <= n; ++i) sum += i;
        return child_end.Send(
            mproc::List{label, sum});  // absl::Status → exit code
      },
      1000, std::string("sum 1..1000"));
  if (!worker.Start().ok()) return 1;
  absl::StatusOr<mproc::Value> result = parent_end.Recv();
  if (!worker.Join().ok() || !result.ok()) return 1;
  std::cout << worker.name() << " (pid " << *worker.pid() << ") sent "
            << result->ToString() << ", exit code " << *worker.exitcode()
            << "\n";

  mproc::RunOptions options;
  options.input = "hello from mproc\n";
  options.timeout = absl::Seconds(5);
  absl::StatusOr<mproc::CompletedProcess> run =
      mproc::Run({"tr", "a-z", "A-Z"}, options);
  if (!run.ok()) {
    std::cerr << run.status() << "\n";
    return 1;
  }
  std::cout << "tr says: " << run->out << "cpus: " << mproc::CpuCount() << "\n";
  return 0;
}
