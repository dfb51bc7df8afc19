// Performs one refresh of an app token or a grant: lease in the database, platform call,
// store and publish the result. In-process calls for the same key coalesce into one
// platform call; the database lease keeps other instances out.
#pragma once

#include <functional>
#include <future>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "core/clock.hpp"
#include "core/types.hpp"
#include "schedule/refresh_policy.hpp"
#include "service/token_cache.hpp"
#include "store/store.hpp"

namespace mediax {

class PlatformRegistry;

enum class Trigger { scheduled, forced, rejected };

struct RefreshResult {
  enum class Status {
    refreshed,     // a new token is stored and published
    failed,        // the platform refused or failed; outcome says how
    not_acquired,  // another instance holds the lease, or the grant/app is no longer active
    gone,          // the grant or app no longer exists or is not active
    store_error,   // the database failed
  };
  Status status = Status::failed;
  Outcome outcome;                      // the platform's answer when one was received
  std::optional<Token> token;           // the current token after this call
  std::optional<TimePoint> next_at;     // when to try next; empty: stop scheduling this key
  std::string message;                  // short human-readable summary, no secrets
};

class Refresher {
 public:
  // Called after every refresh attempt with the key and when it is due next (empty: unschedule).
  using NextListener = std::function<void(const RefreshKey&, std::optional<TimePoint>)>;

  Refresher(Store& store, PlatformRegistry& platforms, TokenCache& cache, RefreshPolicy& policy, const Clock& clock,
            std::string owner);

  void set_next_listener(NextListener l) { listener_ = std::move(l); }
  // Refreshes key now on the calling thread, or waits for the refresh already in flight for it.
  // With expected_token (a consumer's rejected token): if the current token is already another
  // one, returns it at once without calling the platform.
  RefreshResult refresh(const RefreshKey& key, Trigger trigger,
                        const std::optional<std::string>& expected_token = std::nullopt);
  const std::string& owner() const { return owner_; }

 private:
  RefreshResult run(const RefreshKey& key, Trigger trigger);
  RefreshResult on_success(const RefreshJob& job, const Outcome& o, TimePoint received_at);
  RefreshResult on_failure(const RefreshJob& job, const Outcome& o, TimePoint now);
  void notify(const RefreshKey& key, std::optional<TimePoint> next);

  Store& store_;
  PlatformRegistry& platforms_;
  TokenCache& cache_;
  RefreshPolicy& policy_;
  const Clock& clock_;
  std::string owner_;
  NextListener listener_;
  std::mutex mu_;  // guards inflight_ and the cache check that goes with it
  std::unordered_map<std::uint64_t, std::shared_future<RefreshResult>> inflight_;
  // Results the platform gave that the database has not taken yet (it was down). They are
  // stored before the platform is called again: a rotated refresh token must not be lost.
  std::mutex pending_mu_;
  std::unordered_map<std::uint64_t, RefreshSuccess> pending_;
};

std::string to_string(RefreshResult::Status s);

}  // namespace mediax
