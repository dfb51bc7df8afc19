#include "service/token_service.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <regex>
#include <set>
#include <thread>

#include "crypto/crypto.hpp"
#include "platforms/granted_scopes.hpp"
#include "platforms/oauth2_platform.hpp"
#include "platforms/platform_util.hpp"
#include "platforms/registry.hpp"
#include "schedule/scheduler.hpp"
#include "service/app_request.hpp"
#include "service/callback_params.hpp"
#include "service/component_status.hpp"
#include "service/event_record.hpp"
#include "service/new_grant.hpp"
#include "service/platform_call_errors.hpp"

namespace mediax {

TokenService::TokenService(Store& store, PlatformRegistry& platforms, TokenCache& cache, Apps& apps,
                           Scheduler& scheduler, RefreshPolicy& policy, const Config& config,
                           const TimeSource& clock)
    : store_(store),
      platforms_(platforms),
      cache_(cache),
      apps_(apps),
      scheduler_(scheduler),
      policy_(policy),
      config_(config),
      clock_(clock) {}

void TokenService::record_event(std::optional<std::int64_t> app_id, std::optional<std::int64_t> grant_id,
                                const std::string& kind, nlohmann::json detail) {
  mediax::record_event(store_, app_id, grant_id, kind, std::move(detail));
}

std::pair<App, Platform*> TokenService::app_for_platform_call(const std::string& name) {
  auto found = mediax::app_for_platform_call(store_, platforms_, name);
  if (!found) throw found.error();
  return {std::move(found->app), found->platform};
}

AuthorizeStart TokenService::start_authorization(const std::string& app_name, const AuthorizeChoices& choices) {
  // With its secrets: prepare_authorize may call the platform as the app (wechat_component).
  auto [app, platform] = app_for_platform_call(app_name);
  AuthorizeParams p = authorize_params_for(app, choices);
  if (auto why = platform->check_authorize(app, p); !why.empty()) throw ApiError(400, "invalid_field", why);
  AuthRequest req;
  // 256 random bits as hex: WeChat's authorize page accepts only letters and digits in state.
  req.state = crypto::to_hex(crypto::random_bytes(32));
  req.app_id = app.id;
  req.redirect_uri = app.redirect_uri;
  req.expires_at = clock_.system() + Seconds(config_.oauth.state_ttl_seconds);
  p.state = req.state;
  p.redirect_uri = app.redirect_uri;
  if (platform->uses_pkce(app)) {
    req.code_verifier = crypto::pkce_verifier();
    p.code_challenge = crypto::pkce_challenge_s256(req.code_verifier);
  }
  if (Outcome o = platform->prepare_authorize(app, p); !o.ok()) {
    // The outcome names the platform's code and message, never the pre_auth_code.
    spdlog::warn("app '{}': cannot start an authorization: {} {}: {}", app.name, to_string(o.kind), o.code, o.message);
    throw prepare_authorize_error(o, app.platform, app.name, app_waits_for_ticket(app.name));
  }
  auto url = platform->authorize_url(app, p);
  if (url.empty()) {
    throw ApiError(400, "no_authorize_endpoint",
                   "app '" + app.name + "' cannot connect accounts (no authorization endpoint): it only uses client credentials");
  }
  try {
    store_.create_auth_request(req);
  } catch (const StoreError& e) {
    throw database_error(e);
  }
  return {url, req.state, req.expires_at};
}

bool TokenService::app_waits_for_ticket(const std::string& app_name) {
  // Read again: the failed call may just have tried (and failed) to fetch the app token.
  try {
    const auto app = store_.get_app(app_name);
    return app && component_status::waiting_for_ticket(*app);
  } catch (const StoreError&) {
    return false;
  }
}

AuthorizeParams TokenService::authorize_params_for(const App& app, const AuthorizeChoices& c) {
  AuthorizeParams p;
  p.scopes = c.scopes;
  p.prompt = c.prompt;
  p.login_hint = c.login_hint;
  p.include_granted_scopes = c.include_granted_scopes.value_or(false);
  p.mobile = c.mobile;
  p.auth_type = c.auth_type;
  p.biz_appid = c.biz_appid;
  if (!c.grant_id) return p;
  auto g = get_grant(*c.grant_id);
  if (g.app_id != app.id) {
    throw ApiError(400, "invalid_field", "grant_id: grant " + std::to_string(g.id) + " is not one of app '" + app.name + "'s");
  }
  // Incremental authorization: ask the same account for what it lacks; the new token carries the
  // scopes granted before as well, and the connection updates this grant (same account id).
  if (p.scopes.empty()) p.scopes = granted_scopes::missing_of(g.extra);
  if (p.scopes.empty()) {
    throw ApiError(409, "no_missing_scopes", "grant " + std::to_string(g.id) + " has every scope the app requires");
  }
  p.include_granted_scopes = c.include_granted_scopes.value_or(true);
  if (p.login_hint.empty() && g.account_id.rfind("anonymous-", 0) != 0) p.login_hint = g.account_id;
  return p;
}

CallbackResult TokenService::handle_callback(const std::map<std::string, std::string>& params) {
  CallbackResult res;
  // `code`, or the WeChat third-party platform's `auth_code` (service/callback_params.hpp).
  const CallbackParams cb = callback_params(params);
  const std::string& state = cb.state;
  if (state.empty()) {
    res.status = 400;
    res.title = "Missing state";
    res.message = "The platform's answer has no state parameter, so it cannot be matched to a connection request.";
    return res;
  }
  AuthRequest req;
  ConsumeResult cr;
  try {
    cr = store_.consume_auth_request(state, clock_.system(), req);
  } catch (const SecretUnreadableError& e) {
    spdlog::error("oauth callback refused: {}", e.what());
    res.status = 500;
    res.title = "Connection request unreadable";
    res.message = "The stored connection request cannot be decrypted (see the daemon's log). Start the connection again.";
    return res;
  } catch (const StoreError&) {
    res.status = 503;
    res.title = "Database unavailable";
    res.message = "The token daemon cannot reach its database. Start the connection again in a minute.";
    return res;
  }
  if (cr != ConsumeResult::ok) {
    res.status = 400;
    res.title = cr == ConsumeResult::used      ? "Link already used"
                : cr == ConsumeResult::expired ? "Link expired"
                                               : "Unknown connection request";
    res.message = cr == ConsumeResult::used ? "This authorization answer was already used. Start the connection again."
                  : cr == ConsumeResult::expired
                      ? "The connection request expired before the platform answered. Start the connection again."
                      : "The state parameter does not match any connection request of this daemon. Start the connection again.";
    spdlog::warn("oauth callback refused: {}", res.title);
    return res;
  }
  std::optional<App> app;
  try {
    app = store_.get_app_by_id(req.app_id, true);
  } catch (const StoreError& e) {
    spdlog::error("oauth callback: cannot read the app: {}", e.what());
    res.status = dynamic_cast<const SecretUnreadableError*>(&e) != nullptr ? 500 : 503;
    res.title = res.status == 500 ? "App secret unreadable" : "Database unavailable";
    res.message = res.status == 500 ? "The app's stored client secret cannot be decrypted (see the daemon's log)."
                                    : "The token daemon cannot reach its database. Start the connection again in a minute.";
    return res;
  }
  if (!app) {
    res.status = 400;
    res.title = "App deleted";
    res.message = "The app this connection was started for no longer exists.";
    return res;
  }
  res.app_name = app->name;
  if (!cb.error.empty()) {
    res.status = 400;
    res.title = "The platform refused the authorization";
    res.message = cb.error + (cb.error_description.empty() ? "" : ": " + cb.error_description);
    if (res.message.size() > 500) res.message.resize(500);
    record_event(app->id, std::nullopt, "authorization_refused", {{"error", cb.error.substr(0, 100)}});
    spdlog::warn("app '{}': the platform refused the authorization: {}", app->name, cb.error.substr(0, 100));
    return res;
  }
  const std::string& code = cb.code;
  if (code.empty()) {
    res.status = 400;
    res.title = "Missing code";
    res.message = "The platform's answer has neither a code (nor an auth_code) nor an error.";
    return res;
  }
  Platform* platform = platforms_.get(app->platform);
  if (!platform) {
    res.status = 400;
    res.title = "Unknown platform";
    res.message = "platform '" + app->platform + "' is not supported";
    return res;
  }
  Outcome o = platform->exchange_code(*app, code, req.code_verifier, req.redirect_uri);
  const auto received = clock_.system();
  if (!o.ok()) {
    res.status = 502;
    res.title = "The code exchange failed";
    res.message = to_string(o.kind) + ": " + o.code + (o.message.empty() ? "" : ": " + o.message);
    if (cb.auth_code && o.kind == OutcomeKind::needs_reauth) {
      // The same code also comes in the `authorized` event, which may have spent it a moment earlier.
      res.message += ". WeChat also sends this code to the platform's event URL: if the account is among the "
                     "app's grants now, it was connected from there.";
    }
    record_event(app->id, std::nullopt, "code_exchange_failed",
                 {{"class", to_string(o.kind)}, {"code", o.code}, {"message", o.message}});
    spdlog::warn("app '{}': code exchange failed: {} {}: {}", app->name, to_string(o.kind), o.code, o.message);
    return res;
  }
  Grant g;
  try {
    g = store_new_grant(*app, o.token, received, Grant{}, "grant_connected",
                        {{"missing_scopes", granted_scopes::missing_of(o.token.extra)}});
  } catch (const StoreError&) {
    res.status = 503;
    res.title = "Database unavailable";
    res.message = "The account was authorized but could not be stored. Connect it again in a minute.";
    spdlog::error("app '{}': authorized account could not be stored: database unavailable", app->name);
    return res;
  }
  const auto missing = granted_scopes::missing_of(g.extra);
  spdlog::info("app '{}': account '{}' connected as grant {}{}{}", app->name, g.account_id, g.id,
               o.token.refresh_token ? "" : " (no refresh token: it cannot be refreshed)",
               missing.empty() ? "" : " without the scopes " + platform_util::join(missing, " "));
  res.status = 200;
  res.title = "Connected";
  res.message = "Account '" + g.account_id + "' of app '" + app->name + "' is connected as grant " + std::to_string(g.id) + ".";
  if (cb.auth_code) {
    // WeChat third-party platform: the account is the authorizer appid, the scopes the permission
    // sets (func_info ids) the admin actually granted, which may be fewer than the platform declared.
    res.message += g.scopes.empty() ? " No permission set was granted."
                                    : " Permission sets granted: " + platform_util::join(g.scopes, ", ") + ".";
  }
  if (!missing.empty()) {
    // Granular consent: the user unticked some scopes. The grant works for the others.
    res.message += " It is connected, but without: " + platform_util::join(missing, ", ") +
                   ". Ask again for just those with POST /v1/apps/" + app->name + "/authorize {\"grant_id\": " +
                   std::to_string(g.id) + "}.";
  }
  g.refresh_token.clear();
  res.grant = g;
  return res;
}

Grant TokenService::store_new_grant(const App& app, const TokenResult& answer, TimePoint received,
                                    const Grant& known, const std::string& event, nlohmann::json detail) {
  auto n = new_grant_from(app, answer, received, known, policy_);
  Grant g;
  // The platform has spent the code, or rotated the refresh token (the old one may be dead
  // already): this answer cannot be fetched again, so a brief database hiccup is waited out.
  for (int attempt = 1;; ++attempt) {
    try {
      g = store_.upsert_grant(n.grant, n.token);
      break;
    } catch (const SecretUnreadableError&) {
      throw;
    } catch (const StoreError& e) {
      if (attempt >= 3) throw;
      spdlog::warn("app '{}': storing the grant of account '{}' failed (attempt {}), retrying: {}", app.name,
                   n.grant.account_id, attempt, e.what());
      std::this_thread::sleep_for(std::chrono::milliseconds(250 * attempt));
    }
  }
  n.token.grant_id = g.id;
  cache_.put(n.token);
  if (g.next_refresh_at) {
    scheduler_.schedule(RefreshKey{app.id, g.id}, *g.next_refresh_at);
  } else {
    scheduler_.cancel(RefreshKey{app.id, g.id});
  }
  detail["account_id"] = g.account_id;
  record_event(app.id, g.id, event, std::move(detail));
  g.refresh_token.clear();
  return g;
}

Grant TokenService::connect_with_code(const App& app, const std::string& code, const std::string& event) {
  Platform* platform = platforms_.get(app.platform);
  if (!platform) throw ApiError(400, "unknown_platform", "platform '" + app.platform + "' is not supported");
  Outcome o = platform->exchange_code(app, code, "", app.redirect_uri);
  const auto received = clock_.system();
  if (!o.ok()) {
    record_event(app.id, std::nullopt, "code_exchange_failed",
                 {{"class", to_string(o.kind)}, {"code", o.code}, {"message", o.message}});
    throw ApiError(502, "platform_error", to_string(o.kind) + ": " + o.code + (o.message.empty() ? "" : ": " + o.message),
                   {{"platform_code", o.code}, {"class", to_string(o.kind)}});
  }
  return store_new_grant(app, o.token, received, Grant{}, event,
                         {{"missing_scopes", granted_scopes::missing_of(o.token.extra)}, {"via", "platform_event"}});
}

std::vector<Grant> TokenService::list_grants(const std::string& app_name) {
  auto app = apps_.get_app(app_name);
  if (!app) throw app.error();
  try {
    return store_.list_grants(app->id);
  } catch (const StoreError& e) {
    throw database_error(e);
  }
}

Grant TokenService::get_grant(std::int64_t id) {
  std::optional<Grant> g;
  try {
    g = store_.get_grant(id);
  } catch (const StoreError& e) {
    throw database_error(e);
  }
  if (!g) throw ApiError(404, "not_found", "no grant " + std::to_string(id));
  return *g;
}

std::string TokenService::revoke_grant(std::int64_t id) {
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
    throw database_error(e);
  }
  if (!g || !app) throw ApiError(404, "not_found", "no grant " + std::to_string(id));
  std::string platform_result = "not_supported";
  if (Platform* platform = platforms_.get(app->platform); platform && !g->refresh_token.empty() &&
                                                          g->status != GrantStatus::revoked) {
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
    throw database_error(e);
  }
  scheduler_.cancel(RefreshKey{g->app_id, id});
  cache_.erase(RefreshKey{g->app_id, id});
  record_event(g->app_id, id, "grant_revoked", {{"platform_revocation", platform_result}});
  spdlog::info("grant {} of app '{}' revoked (platform: {})", id, app->name, platform_result);
  return platform_result;
}

}  // namespace mediax
