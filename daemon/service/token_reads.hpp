// Token reads, the hot path of the admin API and the token listener: the current token of an app
// or a grant from memory, a forced refresh, a consumer's report that the platform refused a token.
// Every call returns its token or the ApiError to answer (never throws one). Thread-safe: called
// from the HTTP worker threads and the token listener.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "util/time_source.hpp"
#include "core/types.hpp"
#include "schedule/refresher.hpp"
#include "schedule/token_cache.hpp"
#include "service/api_error.hpp"
#include "service/api_key_scope.hpp"
#include "service/rejected_limits.hpp"
#include "service/app_token_usages.hpp"
#include "store/interfaces.hpp"

namespace mediax {

class TokenReads {
 public:
  // Reads every app's token usage now; a database that does not answer yet only delays that to
  // each app's first token read.
  // rejected_limits: null = token/rejected is not rate-limited (tests that do not look at it).
  TokenReads(AdminStore& apps, TokenCache& cache, Refresher& refresher, const TimeSource& time,
             RejectedLimits* rejected_limits = nullptr);

  // Every read and report names its caller (service/api_key_scope.hpp): a reader key scoped to
  // apps gets 403 forbidden, naming its scope, for a token of any other app.

  // The key of app `app_name`'s own token: 403 when the caller's scope does not admit the name
  // (whether such an app exists or not), 404 not_found / no_app_token (not client credentials).
  // While the database is unreachable, an app seen before still answers from memory.
  Expected<RefreshKey> app_token_key(const std::string& app_name, const Caller& caller);
  // The key of grant `grant_id`: from memory when its token is there, else read (404 not_found);
  // then 403 when the caller's scope does not admit the grant's app.
  Expected<RefreshKey> grant_key(std::int64_t grant_id, const Caller& caller);
  // The current token from memory: 404 no_token when there is none, 503 token_expired when it has
  // under a second left.
  Expected<Token> current_token(const RefreshKey& key);
  // A grant's token when it is in memory, checked as grant_key() and current_token() check it;
  // std::nullopt when it is not in memory, or the caller is scoped and the name of the grant's app
  // is not (the pool answers then). Never reaches the database.
  Expected<std::optional<Token>> cached_grant_token(std::int64_t grant_id, const Caller& caller);
  // Refreshes now (coalesced with one in flight): 502 platform_error, 409 not_active or
  // refresh_in_progress, 503 database_unavailable.
  Expected<Token> force_refresh(const RefreshKey& key);
  // A consumer reports that the platform refused access_token: as force_refresh, and 409
  // token_still_current when the platform still calls it current. First 429 rate_limited (details
  // retry_after_seconds) when the caller's key or this token reported too often
  // (service/rejected_limits.hpp): no refresh, no platform call.
  Expected<Token> token_rejected(const RefreshKey& key, const std::string& access_token, const Caller& caller);
  std::optional<TimePoint> token_expiry(const RefreshKey& key) const;
  // With several instances (core/partitions.hpp) the cache holds this instance's partitions only:
  // a token of another partition is read from `feed` (its owner keeps it fresh there).
  void read_through(TokenFeed* feed, const PartitionSet* owned) {
    feed_ = feed;
    owned_ = owned;
  }

  // The apps side (service/apps.hpp) keeps what is answered from memory current.
  void app_registered(const App& app);
  void app_deleted(const std::string& app_name);

 private:
  // The token from memory, or from the database when another instance owns its partition;
  // throws StoreError.
  std::optional<Token> lookup(const RefreshKey& key) const;
  Expected<Token> refuse_expiring(Token t) const;
  // key unchanged when the caller's scope admits its app (named `app_name`), else 403.
  static Expected<RefreshKey> admitted(const RefreshKey& key, const std::optional<std::string>& app_name,
                                       const Caller& caller, std::int64_t grant_id);
  Expected<Token> token_from(const RefreshResult& r, const RefreshKey& key);
  // t with its app's token_usage, as every token answer carries it.
  Expected<Token> answered(Token t);

  AdminStore& apps_;
  TokenCache& cache_;
  TokenFeed* feed_ = nullptr;
  const PartitionSet* owned_ = nullptr;
  Refresher& refresher_;
  const TimeSource& time_;
  RejectedLimits* rejected_limits_;
  // Client-credentials apps by name, as last read from the database: the app token route
  // keeps serving from memory while the database is unreachable.
  std::mutex known_apps_mu_;
  std::map<std::string, std::int64_t> known_app_tokens_;
  AppTokenUsages usages_;
};

}  // namespace mediax
