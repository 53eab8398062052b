// Runs the callbacks a user gave a Pool. Internal to client/pool.
#ifndef MPROC_CLIENT_INTERNAL_POOL_CALLBACKS_H_
#define MPROC_CLIENT_INTERNAL_POOL_CALLBACKS_H_

#include <exception>
#include <iostream>

namespace mproc {
namespace pool_internal {

// Runs a user callback; an exception must not kill the receiving thread.
template <typename F, typename A>
void RunCallback(const F& callback, const A& arg) {
  if (!callback) return;
  try {
    callback(arg);
  } catch (const std::exception& e) {
    std::cerr << "mproc pool: a result callback threw: " << e.what()
              << std::endl;
  } catch (...) {
    std::cerr << "mproc pool: a result callback threw" << std::endl;
  }
}

}  // namespace pool_internal
}  // namespace mproc

#endif  // MPROC_CLIENT_INTERNAL_POOL_CALLBACKS_H_
