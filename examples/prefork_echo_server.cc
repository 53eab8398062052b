// The seed's "process-pool concurrent server", rebuilt on mproc: one
// listening socket shared by a pre-forked process per CPU, each handing
// its connections to a ThreadPool of CPU-count threads that echo what they
// receive. Unlike the seed, a process that dies is replaced, only one
// process wakes per connection, a silent client is dropped after a
// minute, and SIGTERM stops it cleanly (SIGHUP reloads it).
//
//   bazel run //examples:prefork_echo_server -- [HOST:PORT]
//   (default 127.0.0.1:8888, port 0 for a free one; it prints the address;
//   try it with `nc 127.0.0.1 8888`)
#include <iostream>
#include <string>

#include "worker/process/prefork_server.h"
#include "worker/process/process.h"

namespace {

// The seed's worker_thread: echo until the client closes.
void EchoConnection(mproc::ServerConnection& connection) {
  char buffer[1000];
  for (;;) {
    absl::StatusOr<size_t> received = connection.Read(buffer, sizeof(buffer));
    if (!received.ok() || *received == 0) return;  // closed, or silent
    if (!connection.Write({buffer, *received}).ok()) return;
  }
}

}  // namespace

int main(int argc, char** argv) {
  mproc::PreforkOptions options;
  options.listen = argc > 1 ? argv[1] : "127.0.0.1:8888";
  options.processes = mproc::CpuCount();  // the seed's Pool(cpu_count())
  options.threads = mproc::CpuCount();    // and ThreadPool(cpu_count())
  options.name = "prefork_echo_server";
  auto server = mproc::PreforkServer::Listen(options, EchoConnection);
  if (!server.ok()) {
    std::cerr << server.status().message() << std::endl;
    return 1;
  }
  std::cout << "listening on " << (*server)->address() << std::endl;
  return (*server)->Run();
}
