#include "service/store_component_credentials.hpp"

#include <spdlog/spdlog.h>

#include "schedule/refresher.hpp"
#include "schedule/token_cache.hpp"

namespace mediax {

namespace {

bool good_for(const std::optional<Token>& t, const std::optional<std::string>& refused, TimePoint now, Seconds left) {
  return t && !t->access_token.empty() && (!refused || t->access_token != *refused) && t->expires_at - now >= left;
}

}  // namespace

void StoreComponentCredentials::bind(TokenCache& cache, Refresher& refresher) {
  cache_ = &cache;
  refresher_ = &refresher;
}

std::optional<std::string> StoreComponentCredentials::latest_ticket(const App& app) {
  auto t = store_.latest_component_ticket(app.id);
  if (!t) return std::nullopt;
  return t->ticket;
}

std::optional<std::string> StoreComponentCredentials::component_token(const App& app,
                                                                      const std::optional<std::string>& refused) {
  const RefreshKey key{app.id, 0};
  TokenCache* cache = cache_.load();
  std::optional<Token> cached;
  if (cache) {
    cached = cache->get(key);
    if (good_for(cached, refused, clock_.system(), kMinLeft)) return cached->access_token;
  }
  std::optional<Token> stored;
  if (!cached) {
    // Not in memory: the app's partition may be another instance's (core/partitions.hpp), which
    // keeps its token fresh in the database. A refresh here would fetch a new one for every grant.
    stored = store_.get_token(key);
    if (good_for(stored, refused, clock_.system(), kMinLeft)) {
      if (cache) cache->put_if_newer(*stored);
      return stored->access_token;
    }
  }
  if (Refresher* refresher = refresher_.load()) {
    // Refused: only while the refused token is still the current one (a concurrent refresh may
    // have replaced it already); otherwise a new token now, joined with one in flight.
    // Admitted only if the cache still has no good token, checked under the lock that joins a
    // refresh in flight: one that ended since the checks above (its token is in the cache now)
    // is not followed by a second fetch. Refused, the token is read below.
    const Refresher::Admission still_missing = [&] {
      return cache == nullptr || !good_for(cache->get(key), refused, clock_.system(), kMinLeft);
    };
    const auto r = refused ? refresher->refresh(key, Trigger::rejected, refused, still_missing)
                           : refresher->refresh(key, Trigger::forced, std::nullopt, still_missing);
    if (good_for(r.token, refused, clock_.system(), kMinLeft)) return r.token->access_token;
    if (r.status != RefreshResult::Status::refreshed) {
      spdlog::debug("app '{}': no component token now: {}", app.name, r.message);
    }
  }
  // Another instance may hold a newer token than this one's cache (it refreshed, the NOTIFY is on
  // its way). A token with under a minute left beats none: the call it is for takes a second.
  if (cache) {
    if (auto now_cached = cache->get(key); good_for(now_cached, refused, clock_.system(), kMinLeft)) {
      return now_cached->access_token;
    }
  }
  stored = store_.get_token(key);
  if (!good_for(stored, refused, clock_.system(), Seconds(1))) return std::nullopt;
  if (cache) cache->put_if_newer(*stored);
  return stored->access_token;
}

}  // namespace mediax
