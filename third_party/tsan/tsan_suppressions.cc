// ThreadSanitizer's built-in suppressions, linked into every binary of a
// --config=tsan build (through //third_party:absl), so each test and each
// process it starts reads them without an environment variable.
//
// What TSan cannot judge here, because the code is not instrumented:
// - absl's own synchronization internals: a thread's wait record is mapped
//   by LowLevelAlloc and posted to by the unlocking thread; absl's Mutex
//   hides its internals from TSan on purpose (__tsan_mutex_* annotations),
//   so the hand-off between them is invisible.
// - gRPC and protobuf (Debian's builds): their threads hand buffers over
//   through atomics TSan never sees, so every such hand-off would look like
//   a race. Reports with a frame in those libraries are dropped; races
//   between mproc's own threads over mproc's own state (guarded by
//   absl::Mutex, which scripts/build_tsan_absl.sh instruments) still stop
//   the test.
extern "C" const char* __tsan_default_suppressions() {
  return "race:absl::*::synchronization_internal::\n"
         "race:absl::*::base_internal::LowLevelAlloc\n"
         "race:libgrpc.so\n"
         "race:libgrpc++.so\n"
         "race:libgpr.so\n"
         "race:libprotobuf.so\n";
}
