// The README's client example, built with the rest so it stays true.
#include <iostream>

#include "client/manager.h"

int main(int argc, char** argv) {
  const char* address = argc > 1 ? argv[1] : "127.0.0.1:50051";
  auto manager = mproc::Manager::Connect(address);
  if (!manager.ok()) return 1;               // absl::Status, no exceptions
  auto config = (*manager)->Dict("config");  // get-or-create, shared by name
  if (!config.ok() || !config->Set("workers", 8).ok()) return 1;
  absl::StatusOr<mproc::Value> done = config->Add("jobs_done", 1);  // atomic
  if (!done.ok()) return 1;
  std::cout << "jobs done: " << done->ToString() << "\n";
  return 0;
}
