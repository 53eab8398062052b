// A worker daemon serving the task "cube" besides the stock ones:
//   bazel-bin/cube_worker --manager 127.0.0.1:50051 --processes 2
#include <cstdint>

#include "worker/supervisor.h"
#include "worker/task_registry.h"

namespace {

int64_t Cube(int64_t x) { return x * x * x; }
MPROC_TASK("cube", Cube);

}  // namespace

int main(int argc, char** argv) { return mproc::WorkerMain(argc, argv); }
