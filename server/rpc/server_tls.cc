#include "server/rpc/server_tls.h"

#include <sys/stat.h>

#include <cstdio>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/authkey_file.h"

namespace mproc {

absl::StatusOr<std::unique_ptr<ServerTlsFiles>> ServerTlsFiles::Load(
    const std::string& cert, const std::string& key,
    const std::string& client_ca, absl::Duration refresh) {
  std::unique_ptr<ServerTlsFiles> files(
      new ServerTlsFiles(cert, key, client_ca, refresh));
  const std::string stamp = files->Stamp();
  absl::StatusOr<TlsContext> context = files->Read();
  if (!context.ok()) return context.status();
  absl::MutexLock l(&files->mu_);
  files->current_ = *std::move(context);
  files->stamp_ = stamp;
  files->next_look_ = absl::Now() + refresh;
  return files;
}

TlsContext ServerTlsFiles::Current() {
  absl::MutexLock l(&mu_);
  const absl::Time now = absl::Now();
  if (now < next_look_) return current_;
  next_look_ = now + refresh_;
  const std::string stamp = Stamp();
  if (stamp == stamp_) return current_;
  absl::StatusOr<TlsContext> renewed = Read();
  if (!renewed.ok()) {
    std::fprintf(stderr,
                 "mproc manager: the renewed TLS files are not used: %s\n",
                 std::string(renewed.status().message()).c_str());
    return current_;
  }
  stamp_ = stamp;
  current_ = *std::move(renewed);
  return current_;
}

absl::StatusOr<TlsContext> ServerTlsFiles::Read() const {
  absl::StatusOr<std::string> chain =
      ReadPublicFile(cert_, "TLS certificate file");
  if (!chain.ok()) return chain.status();
  absl::StatusOr<std::string> key = ReadPrivateFile(key_, "TLS key file");
  if (!key.ok()) return key.status();
  std::string ca;
  if (!client_ca_.empty()) {
    absl::StatusOr<std::string> read =
        ReadPublicFile(client_ca_, "TLS client CA file");
    if (!read.ok()) return read.status();
    ca = *std::move(read);
  }
  return NewServerTlsContext(*chain, *key, ca);
}

std::string ServerTlsFiles::Stamp() const {
  std::string stamp;
  for (const std::string* path : {&cert_, &key_, &client_ca_}) {
    struct stat st {};
    if (!path->empty() && stat(path->c_str(), &st) == 0) {
      absl::StrAppend(&stamp, st.st_mtim.tv_sec, ".", st.st_mtim.tv_nsec, ":",
                      st.st_size, ":", st.st_ino, "/");
    } else {
      stamp += "-/";
    }
  }
  return stamp;
}

}  // namespace mproc
