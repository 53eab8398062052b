// mproc's release version: what `mproc --version`, the manager's INFO
// answer, the packages (scripts/package.sh) and their pkg-config and CMake
// files report. Bump it with a release; the packages read it from here.
#ifndef MPROC_COMMON_VERSION_H_
#define MPROC_COMMON_VERSION_H_

namespace mproc {

inline constexpr char kMprocVersion[] = "0.2.0";

}  // namespace mproc

#endif  // MPROC_COMMON_VERSION_H_
