// ThreadSanitizer's built-in suppressions, linked into every binary of a
// --config=tsan build (through //third_party:absl), so each test and each
// process it starts reads them without an environment variable.
//
// absl's own synchronization internals: a thread's wait record is mapped by
// LowLevelAlloc and posted to by the unlocking thread. absl's Mutex hides
// its internals from TSan on purpose (its __tsan_mutex_* annotations), so
// the hand-off between them is invisible. Only reports with a frame inside
// absl's internal namespaces match; races in mproc's code still stop the
// test.
extern "C" const char* __tsan_default_suppressions() {
  return "race:absl::*::synchronization_internal::\n"
         "race:absl::*::base_internal::LowLevelAlloc\n";
}
