// Compiled as the mproc binary's linkstamp: Bazel builds it at link time
// with the build's facts as macros (BUILD_SCM_REVISION, BUILD_SCM_STATUS
// and BUILD_TIMESTAMP from scripts/workspace_status.sh when built with
// --stamp, as scripts/package.sh does; placeholders otherwise).
extern const char kMprocBuildRevision[];
extern const char kMprocBuildStatus[];
extern const long kMprocBuildTimestamp;

const char kMprocBuildRevision[] = BUILD_SCM_REVISION;
const char kMprocBuildStatus[] = BUILD_SCM_STATUS;
const long kMprocBuildTimestamp = BUILD_TIMESTAMP;
