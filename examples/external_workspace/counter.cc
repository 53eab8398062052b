// Adds one to "runs" in the shared dict "stats" and prints the total.
//   bazel-bin/counter [ADDRESS]    (default 127.0.0.1:50051)
#include <iostream>

#include "client/manager.h"

int main(int argc, char** argv) {
  auto manager =
      mproc::Manager::Connect(argc > 1 ? argv[1] : "127.0.0.1:50051");
  if (!manager.ok()) {
    std::cerr << manager.status() << "\n";
    return 1;
  }
  auto stats = (*manager)->Dict("stats");
  if (!stats.ok()) {
    std::cerr << stats.status() << "\n";
    return 1;
  }
  absl::StatusOr<mproc::Value> runs = stats->Add("runs", 1);
  if (!runs.ok()) {
    std::cerr << runs.status() << "\n";
    return 1;
  }
  std::cout << "runs: " << runs->ToString() << "\n";
  return 0;
}
