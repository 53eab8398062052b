// `mproc serve`: a pre-forked echo server. It forks before any other state
// exists, so main() hands it the command line first, like `mproc worker`.
#ifndef MPROC_CLI_SERVE_COMMAND_H_
#define MPROC_CLI_SERVE_COMMAND_H_

namespace mproc {
namespace cli {

// argv[0] is "serve". Returns the exit code.
int ServeMain(int argc, char** argv);

}  // namespace cli
}  // namespace mproc

#endif  // MPROC_CLI_SERVE_COMMAND_H_
