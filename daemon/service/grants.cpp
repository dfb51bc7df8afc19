#include "service/grants.hpp"

#include <spdlog/spdlog.h>

#include "platforms/platform.hpp"
#include "platforms/registry.hpp"
#include "schedule/scheduler.hpp"
#include "schedule/token_cache.hpp"
#include "service/apps.hpp"
#include "service/event_record.hpp"

namespace mediax {

Grants::Grants(AdminStore& store, EventLog& events, PlatformRegistry& platforms, TokenCache& cache,
               Scheduler& scheduler, Apps& apps, NewGrantStore& new_grants, const TimeSource& time)
    : store_(store),
      events_(events),
      platforms_(platforms),
      cache_(cache),
      scheduler_(scheduler),
      apps_(apps),
      new_grants_(new_grants),
      time_(time) {}

Expected<std::vector<Grant>> Grants::list_grants(const std::string& app_name) {
  auto app = apps_.get_app(app_name);
  if (!app) return tl::unexpected(app.error());
  try {
    return store_.list_grants(app->id);
  } catch (const StoreError& e) {
    return tl::unexpected(database_error(e));
  }
}

Expected<Grant> Grants::get_grant(std::int64_t id) {
  std::optional<Grant> g;
  try {
    g = store_.get_grant(id);
  } catch (const StoreError& e) {
    return tl::unexpected(database_error(e));
  }
  if (!g) return tl::unexpected(ApiError(404, "not_found", "no grant " + std::to_string(id)));
  return *g;
}

Expected<std::string> Grants::revoke_grant(std::int64_t id) {
  std::optional<Grant> g;
  std::optional<App> app;
  try {
    try {
      g = store_.get_grant(id, true);
      if (g) app = store_.get_app_by_id(g->app_id, true);
    } catch (const SecretUnreadableError& e) {
      // Revoking must work even then: only the platform is not told (no usable refresh token).
      spdlog::warn("grant {}: revoking without telling the platform: {}", id, e.what());
      g = store_.get_grant(id, false);
      if (g) app = store_.get_app_by_id(g->app_id, false);
    }
  } catch (const StoreError& e) {
    return tl::unexpected(database_error(e));
  }
  if (!g || !app) return tl::unexpected(ApiError(404, "not_found", "no grant " + std::to_string(id)));
  std::string platform_result = "not_supported";
  // Some platforms revoke the access token: the current one, from memory or the store.
  if (auto t = cache_.get(RefreshKey{g->app_id, id})) g->access_token = t->access_token;
  // A grant with neither token (unreadable secrets) cannot be revoked at the platform; one with
  // only an access token can where the platform revokes that (Weibo's web apps get no refresh token).
  if (Platform* platform = platforms_.get(app->platform);
      platform && (!g->refresh_token.empty() || !g->access_token.empty()) && g->status != GrantStatus::revoked) {
    auto o = platform->revoke(*app, *g);
    if (o.ok()) {
      platform_result = o.code == "not_supported" ? "not_supported" : "ok";
    } else {
      platform_result = "failed";
      spdlog::warn("grant {}: revocation at the platform failed: {} {}: {}", id, to_string(o.kind), o.code, o.message);
    }
  }
  try {
    store_.revoke_grant(id, "revoked by admin");
  } catch (const StoreError& e) {
    return tl::unexpected(database_error(e));
  }
  scheduler_.cancel(RefreshKey{g->app_id, id});
  cache_.erase(RefreshKey{g->app_id, id});
  record_event(events_, g->app_id, id, "grant_revoked", {{"platform_revocation", platform_result}});
  spdlog::info("grant {} of app '{}' revoked (platform: {})", id, app->name, platform_result);
  return platform_result;
}

}  // namespace mediax
