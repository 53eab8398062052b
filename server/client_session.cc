#include "server/client_session.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace mproc {

void LossRecord::Add(const std::string& what) {
  absl::MutexLock l(&mu_);
  lost_.insert(what);
  size_.store(lost_.size(), std::memory_order_release);
}

void LossRecord::MarkRestarted() {
  restarted_.store(true, std::memory_order_release);
}

LossRecord::Cause LossRecord::CauseOf(const std::string& what) const {
  if (empty()) return Cause::kNone;
  absl::MutexLock l(&mu_);
  if (lost_.contains(what)) return Cause::kExpired;
  if (restarted_.load(std::memory_order_acquire) && !regained_.contains(what)) {
    return Cause::kRestarted;
  }
  return Cause::kNone;
}

void LossRecord::Remove(const std::string& what) {
  if (empty()) return;
  absl::MutexLock l(&mu_);
  lost_.erase(what);
  size_.store(lost_.size(), std::memory_order_release);
  if (restarted_.load(std::memory_order_acquire)) regained_.insert(what);
}

absl::Status LostHolding(LossRecord::Cause cause, const std::string& what,
                         absl::string_view action) {
  if (cause == LossRecord::Cause::kRestarted) {
    return absl::AbortedError(absl::StrCat(
        what,
        " was lost: the manager restarted since this client took it "
        "(nothing a client held survives a restart; another client may "
        "hold it now); acquire it again before you ",
        action));
  }
  return absl::AbortedError(absl::StrCat(
      "session expired: ", what,
      " was released after the lease (this client was paused or cut off "
      "longer than the session lease) and may be held by another client now; "
      "cannot ",
      action));
}

std::vector<std::string> LossRecord::Sorted() const {
  absl::MutexLock l(&mu_);
  std::vector<std::string> lost(lost_.begin(), lost_.end());
  std::sort(lost.begin(), lost.end());
  return lost;
}

bool ClientSession::TakeExpiryNotice() {
  absl::MutexLock l(&mu_);
  return std::exchange(follows_expired_, false);
}

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

std::shared_ptr<ClientSession> SessionRegistry::Attach(const std::string& id,
                                                       const std::string& peer,
                                                       bool restarted) {
  absl::MutexLock l(&mu_);
  const bool anonymous = id.empty();
  std::string key =
      anonymous ? absl::StrCat(kAnonymousSessionPrefix, ++anonymous_) : id;
  if (std::shared_ptr<ClientSession> found = sessions_[key].lock()) {
    absl::MutexLock sl(&found->mu_);
    if (!found->expired_) {
      ++found->streams_;
      found->peer_ = peer;
      if (restarted) found->losses().MarkRestarted();
      return found;
    }
  }
  std::shared_ptr<LossRecord> predecessor;
  if (auto it = expired_.find(key); it != expired_.end()) {
    predecessor = std::move(it->second.losses);
    expired_.erase(it);
  }
  const bool follows_expired = predecessor != nullptr;
  auto session =
      std::make_shared<ClientSession>(key, peer, std::move(predecessor));
  if (restarted) session->losses().MarkRestarted();
  {
    // Not shared yet; locked all the same, as every write of streams_ is.
    absl::MutexLock sl(&session->mu_);
    session->streams_ = 1;
    session->anonymous_ = anonymous;
    session->follows_expired_ = follows_expired;
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
    Expire(session, detachment, /*remember=*/!now);
    return;
  }
  // The timer holds the session alive until the lease is over.
  timer_->Schedule(absl::Now() + lease_,
                   [weak = weak_from_this(), session, detachment] {
                     if (auto registry = weak.lock()) {
                       registry->Expire(session, detachment, /*remember=*/true);
                     }
                   });
}

void SessionRegistry::Expire(const std::shared_ptr<ClientSession>& session,
                             uint64_t detachment, bool remember) {
  absl::flat_hash_map<uint64_t, std::function<void()>> hooks;
  {
    // Registry first, then session, as Attach: a stream of the same id
    // attaching meanwhile finds either the live session or the record.
    absl::MutexLock l(&mu_);
    {
      absl::MutexLock sl(&session->mu_);
      // Resumed meanwhile (a stream attached), or already expired.
      if (session->streams_ > 0 || session->detachments_ != detachment ||
          session->expired_) {
        return;
      }
      session->expired_ = true;
      hooks.swap(session->hooks_);
    }
    auto it = sessions_.find(session->id());
    if (it != sessions_.end() && it->second.lock() == session) {
      sessions_.erase(it);
      // Before the hooks run, so a successor attaching meanwhile shares
      // the record they write.
      if (remember && !session->anonymous_) {
        const uint64_t expiry = ++expiries_;
        expired_[session->id()] = Remembered{session->losses_, expiry};
        expired_order_.emplace_back(session->id(), expiry);
        while (expired_order_.size() > kMaxRemembered) {
          const auto& [id, when] = expired_order_.front();
          auto oldest = expired_.find(id);
          if (oldest != expired_.end() && oldest->second.expiry == when) {
            expired_.erase(oldest);
          }
          expired_order_.pop_front();
        }
      }
    }
  }
  for (auto& [token, hook] : hooks) hook();
}

}  // namespace mproc
