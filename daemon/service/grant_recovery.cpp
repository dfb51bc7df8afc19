// Grants::recover_grant: a grant whose refresh token was lost or refused, got going again
// through the platform's own recovery call instead of asking the account's owner to connect again.
#include <spdlog/spdlog.h>

#include "platforms/platform.hpp"
#include "platforms/registry.hpp"
#include "service/apps.hpp"
#include "service/event_record.hpp"
#include "service/grants.hpp"
#include "service/new_grant_store.hpp"
#include "service/platform_call_errors.hpp"

namespace mediax {

Expected<Grant> Grants::recover_grant(std::int64_t id) {
  std::optional<Grant> g;
  std::optional<App> app;
  try {
    try {
      g = store_.get_grant(id, true);
    } catch (const SecretUnreadableError& e) {
      // A refresh token that cannot be read is a lost one: exactly what recovery is for.
      spdlog::warn("grant {}: recovering without its stored refresh token: {}", id, e.what());
      g = store_.get_grant(id, false);
    }
    if (g) app = store_.get_app_by_id(g->app_id, true);
  } catch (const StoreError& e) {
    return tl::unexpected(database_error(e));
  }
  if (!g || !app) return tl::unexpected(ApiError(404, "not_found", "no grant " + std::to_string(id)));
  if (g->status == GrantStatus::revoked) {
    // A revoked account's authorization is gone at the platform too (or soon will be): only its owner
    // can authorize again.
    return tl::unexpected(ApiError(409, "grant_revoked",
                                   "grant " + std::to_string(id) + " is revoked" +
                                       (g->status_reason.empty() ? "" : " (" + g->status_reason + ")") +
                                       "; connect the account again: POST /v1/apps/" + app->name + "/authorize"));
  }
  Platform* platform = platforms_.get(app->platform);
  if (!platform) {
    return tl::unexpected(ApiError(400, "unknown_platform", "platform '" + app->platform + "' is not supported"));
  }
  const Outcome o = platform->recover_grant(*app, *g);
  const auto received = time_.system();
  if (!o.ok()) {
    record_event(events_, app->id, id, "grant_recovery_failed",
                 {{"class", to_string(o.kind)}, {"code", o.code}, {"message", o.message}});
    spdlog::warn("grant {} of app '{}': recovery failed: {} {}: {}", id, app->name, to_string(o.kind), o.code,
                 o.message);
    return tl::unexpected(
        recover_grant_error(o, app->platform, app->name, id, app_waits_for_ticket(store_, app->name)));
  }
  if (o.token.access_token.empty()) {
    spdlog::warn("grant {} of app '{}': recovery answered without an access token", id, app->name);
    return tl::unexpected(ApiError(502, "platform_error",
                                   "the platform answered the recovery without an access token; grant " +
                                       std::to_string(id) + " is unchanged"));
  }
  const bool rotated = o.token.refresh_token.has_value() && *o.token.refresh_token != g->refresh_token;
  Grant stored;
  try {
    // The known grant supplies what the answer leaves out (account, scopes, refresh token).
    stored = new_grants_.store(*app, o.token, received, *g, "grant_recovered", {{"refresh_token_changed", rotated}});
  } catch (const StoreError&) {
    spdlog::error("grant {} of app '{}': recovered at the platform but could not be stored: database unavailable", id,
                  app->name);
    return tl::unexpected(ApiError(503, "database_unavailable",
                                   "the platform recovered the grant but it could not be stored (database "
                                   "unavailable); recover it again in a minute"));
  }
  spdlog::info("grant {} of app '{}' (account '{}') recovered{}", stored.id, app->name, stored.account_id,
               rotated ? " with a new refresh token" : "");
  return stored;
}

}  // namespace mediax
