#include "server/client_session.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace mproc {

std::string ClientSession::peer() const {
  absl::MutexLock l(&mu_);
  return peer_;
}

uint64_t ClientSession::AddHoldHook(std::function<void()> hook) {
  absl::MutexLock l(&mu_);
  if (expired_) return 0;
  const uint64_t token = next_token_++;
  hooks_.emplace(token, std::move(hook));
  return token;
}

void ClientSession::RemoveHoldHook(uint64_t token) {
  absl::MutexLock l(&mu_);
  hooks_.erase(token);
}

std::shared_ptr<ClientSession> SessionRegistry::Attach(
    const std::string& id, const std::string& peer) {
  absl::MutexLock l(&mu_);
  std::string key = id.empty() ? absl::StrCat("anonymous-", ++anonymous_) : id;
  if (std::shared_ptr<ClientSession> found = sessions_[key].lock()) {
    absl::MutexLock sl(&found->mu_);
    if (!found->expired_) {
      ++found->streams_;
      found->peer_ = peer;
      return found;
    }
  }
  auto session = std::make_shared<ClientSession>(key, peer);
  {
    // Not shared yet; locked all the same, as every write of streams_ is.
    absl::MutexLock sl(&session->mu_);
    session->streams_ = 1;
  }
  sessions_[key] = session;
  return session;
}

void SessionRegistry::Detach(const std::shared_ptr<ClientSession>& session,
                             bool now) {
  uint64_t detachment;
  {
    absl::MutexLock l(&session->mu_);
    if (--session->streams_ > 0) return;
    detachment = ++session->detachments_;
  }
  if (now || lease_ <= absl::ZeroDuration()) {
    Expire(session, detachment);
    return;
  }
  // The timer holds the session alive until the lease is over.
  timer_->Schedule(absl::Now() + lease_,
                   [weak = weak_from_this(), session, detachment] {
                     if (auto registry = weak.lock()) {
                       registry->Expire(session, detachment);
                     }
                   });
}

void SessionRegistry::Expire(const std::shared_ptr<ClientSession>& session,
                             uint64_t detachment) {
  absl::flat_hash_map<uint64_t, std::function<void()>> hooks;
  {
    absl::MutexLock l(&session->mu_);
    // Resumed meanwhile (a stream attached), or already expired.
    if (session->streams_ > 0 || session->detachments_ != detachment ||
        session->expired_) {
      return;
    }
    session->expired_ = true;
    hooks.swap(session->hooks_);
  }
  {
    absl::MutexLock l(&mu_);
    auto it = sessions_.find(session->id());
    if (it != sessions_.end() && it->second.lock() == session) {
      sessions_.erase(it);
    }
  }
  for (auto& [token, hook] : hooks) hook();
}

}  // namespace mproc
