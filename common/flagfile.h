// --flagfile FILE (or --flagfile=FILE): flags read from a file, as Abseil's
// flagfiles are — one flag per line ("--name=value", or "--name value",
// or "--name"), blank lines and lines starting with '#' ignored. Every
// mproc command and daemon takes it, so a service's flags can live in
// /etc (packaging/systemd/). A flag given after --flagfile on the command
// line overrides the file's.
#ifndef MPROC_COMMON_FLAGFILE_H_
#define MPROC_COMMON_FLAGFILE_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace mproc {

// `args` with each --flagfile replaced by the file's flags, up to a "--"
// (what follows it is not flags). INVALID_ARGUMENT naming the file and
// line for an unreadable file, a line that is not a flag, or a --flagfile
// inside a flagfile. For commands whose arguments are all flags (a parser
// that knows where values begin calls ReadFlagfile itself).
absl::StatusOr<std::vector<std::string>> ExpandFlagfiles(
    const std::vector<std::string>& args);

// Appends the flags of the file at `path` to `out`; errors as above.
absl::Status ReadFlagfile(const std::string& path,
                          std::vector<std::string>* out);

}  // namespace mproc

#endif  // MPROC_COMMON_FLAGFILE_H_
