// Grants: grants that arrive without the browser callback. POST /v1/apps/{name}/grants exchanges
// a code the creator's own app obtained; POST /v1/apps/{name}/grants/import takes over a refresh
// token from another system. Both store the grant as the callback does (NewGrantStore).
#include "service/grant_onboarding.hpp"

#include <spdlog/spdlog.h>

#include "platforms/platform.hpp"
#include "service/apps.hpp"
#include "service/event_record.hpp"
#include "service/grant_request.hpp"
#include "service/grants.hpp"
#include "service/new_grant_store.hpp"

namespace mediax {

ApiError onboarding_error(const Outcome& o, const std::string& platform, Onboarding what) {
  nlohmann::json details = {{"platform_code", o.code}, {"class", to_string(o.kind)}};
  const std::string said = platform + " answered " + (o.code.empty() ? "an error" : o.code) +
                           (o.message.empty() ? "" : " (" + o.message + ")");
  switch (o.kind) {
    case OutcomeKind::needs_reauth:
      if (what == Onboarding::code) {
        return ApiError(422, "code_refused",
                        "the platform refused the code: " + said +
                            "; a code works once and for minutes only: have the creator's app obtain a new one",
                        details);
      }
      return ApiError(422, "refresh_token_refused",
                      "the platform refused the refresh token: " + said +
                          "; nothing was stored: the creator must connect the account again",
                      details);
    case OutcomeKind::app_misconfigured:
      return ApiError(422, "app_misconfigured",
                      "the platform refused the app: " + said + "; check the app's client id, secret and permissions",
                      details);
    case OutcomeKind::rate_limited:
      if (o.retry_after) details["retry_after_seconds"] = o.retry_after->count();
      return ApiError(503, "platform_rate_limited", "the platform is rate limiting: " + said + "; try again later",
                      details);
    case OutcomeKind::retry_later:
    case OutcomeKind::success: break;
  }
  return ApiError(502, "platform_error", "the platform failed: " + said + "; nothing was stored: try again", details);
}

Expected<GrantAdded> Grants::add_grant_from_code(const std::string& app_name, const nlohmann::json& body) {
  const auto req = parsed([&] { return code_grant_from_request(body); });
  if (!req) return tl::unexpected(req.error());
  auto found = app_for_platform_call(store_, platforms_, app_name);
  if (!found) return tl::unexpected(found.error());
  const auto& [app, platform] = *found;
  const Outcome o = platform->exchange_code(app, req->code, req->code_verifier, req->redirect_uri);
  const auto received = time_.system();
  if (!o.ok()) {
    record_event(events_, app.id, std::nullopt, "code_exchange_failed",
                 {{"class", to_string(o.kind)}, {"code", o.code}, {"message", o.message}, {"source", "api"}});
    spdlog::warn("app '{}': code exchange (POST .../grants) failed: {} {}: {}", app.name, to_string(o.kind), o.code,
                 o.message);
    return tl::unexpected(onboarding_error(o, app.platform, Onboarding::code));
  }
  Grant g;
  try {
    g = new_grants_.store(app, o.token, received, Grant{}, "grant_connected", {{"source", "api"}});
  } catch (const StoreError&) {
    spdlog::error("app '{}': account authorized with a code from the app could not be stored: database unavailable",
                  app.name);
    return tl::unexpected(ApiError(503, "database_unavailable",
                                   "the platform accepted the code but the grant could not be stored (database "
                                   "unavailable); the code is spent: have the creator's app obtain a new one"));
  }
  // An inserted row has both times from the same transaction; a replaced one keeps its created_at.
  const bool created = g.created_at == g.updated_at;
  spdlog::info("app '{}': account '{}' {} as grant {} with a code from the creator's app{}", app.name, g.account_id,
               created ? "connected" : "connected again", g.id,
               o.token.refresh_token ? "" : " (no refresh token: it cannot be refreshed)");
  return GrantAdded{g, created};
}

Expected<GrantAdded> Grants::import_grant(const std::string& app_name, const nlohmann::json& body) {
  const auto parsed_req = parsed([&] { return import_grant_from_request(body, time_.system()); });
  if (!parsed_req) return tl::unexpected(parsed_req.error());
  const auto& req = *parsed_req;
  auto found = app_for_platform_call(store_, platforms_, app_name);
  if (!found) return tl::unexpected(found.error());
  const auto& [app, platform] = *found;
  Grant known;
  known.app_id = app.id;
  known.account_id = req.account_id;
  known.refresh_token = req.refresh_token;
  known.refresh_expires_at = req.refresh_expires_at;
  known.scopes = req.scopes;
  // Refreshing now proves the token works before anything is stored, and gives the first access token.
  const Outcome o = platform->refresh(app, known);
  const auto received = time_.system();
  if (!o.ok()) {
    record_event(
        events_, app.id, std::nullopt, "grant_import_failed",
        {{"account_id", req.account_id}, {"class", to_string(o.kind)}, {"code", o.code}, {"message", o.message}});
    spdlog::warn("app '{}': import of account '{}' refused, not stored: {} {}: {}", app.name, req.account_id,
                 to_string(o.kind), o.code, o.message);
    return tl::unexpected(onboarding_error(o, app.platform, Onboarding::import));
  }
  const bool rotated = o.token.refresh_token.has_value();
  nlohmann::json detail = {{"rotated", rotated}};
  if (!o.token.account_id.empty() && o.token.account_id != req.account_id) {
    // The platform knows whose token this is: the grant is stored under its account. Refusing
    // instead would throw away a refresh token the platform may just have rotated (killing the
    // one the caller still holds).
    detail["account_id_given"] = req.account_id;
    spdlog::warn("app '{}': imported refresh token belongs to account '{}' by the platform's answer, not '{}' as given",
                 app.name, o.token.account_id, req.account_id);
  }
  Grant g;
  try {
    g = new_grants_.store(app, o.token, received, known, "grant_imported", detail);
  } catch (const StoreError&) {
    spdlog::error("app '{}': imported account '{}' refreshed at the platform but could not be stored{}", app.name,
                  req.account_id,
                  rotated ? " (the platform rotated the refresh token: the imported one may be dead)" : "");
    return tl::unexpected(
        ApiError(503, "database_unavailable",
                 rotated ? "the refresh token works but the grant could not be stored (database unavailable), and the "
                           "platform replaced it with a new one: the imported token may no longer work; if importing "
                           "it again fails, the creator must connect the account again"
                         : "the refresh token works but the grant could not be stored (database unavailable); "
                           "import it again in a minute"));
  }
  const bool created = g.created_at == g.updated_at;
  spdlog::info("app '{}': account '{}' imported as grant {}{}{}", app.name, g.account_id, g.id,
               created ? "" : " (replacing its grant)", rotated ? " (the platform rotated its refresh token)" : "");
  return GrantAdded{g, created};
}

}  // namespace mediax
