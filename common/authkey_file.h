// Authkey files: the shared secret a manager and its clients prove to each
// other (auth_proof.h). Like Erlang's ~/.erlang.cookie, each user has a
// default one, made by the first manager that needs it and read by that
// user's clients, workers and CLI; another user cannot read it, so cannot
// connect. A key may hold any bytes.
#ifndef MPROC_COMMON_AUTHKEY_FILE_H_
#define MPROC_COMMON_AUTHKEY_FILE_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace mproc {

// The bytes of `path`, a secret (`what` names it in messages: "authkey
// file", "TLS key"): NOT_FOUND if it does not exist; PERMISSION_DENIED if
// it cannot be read or other users may read or change it (group or other
// bits set: "chmod 600" fixes it); INVALID_ARGUMENT if it is not a regular
// file, is empty or is over 64 KiB. Messages name the file, never its
// contents.
absl::StatusOr<std::string> ReadPrivateFile(const std::string& path,
                                            absl::string_view what);

// The same for a file that need not be secret but is trusted (a
// certificate, a CA): PERMISSION_DENIED if group or others may write it.
absl::StatusOr<std::string> ReadPublicFile(const std::string& path,
                                           absl::string_view what);

// $XDG_CONFIG_HOME/mproc/authkey, else $HOME/.config/mproc/authkey (the
// home from the password database when HOME is unset).
std::string DefaultAuthkeyPath();

// The key in `path`: its bytes, less one trailing "\n", then one trailing
// "\r"; errors as ReadPrivateFile.
absl::StatusOr<std::string> ReadAuthkeyFile(const std::string& path);

// The key in `path`, made first if the file does not exist: 32 random
// bytes written as 64 hex digits, mode 0600, its directory made 0700.
// Concurrent callers agree on one key. `*created` tells whether this call
// made it. Errors as ReadAuthkeyFile, or the reason it cannot be made.
absl::StatusOr<std::string> LoadOrCreateAuthkeyFile(const std::string& path,
                                                    bool* created);

}  // namespace mproc

#endif  // MPROC_COMMON_AUTHKEY_FILE_H_
