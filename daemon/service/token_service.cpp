#include "service/token_service.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <regex>
#include <set>
#include <thread>

#include "crypto/crypto.hpp"
#include "platforms/credential_key.hpp"
#include "platforms/granted_scopes.hpp"
#include "platforms/oauth2_platform.hpp"
#include "platforms/platform_util.hpp"
#include "platforms/registry.hpp"
#include "platforms/token_usage.hpp"
#include "schedule/scheduler.hpp"
#include "service/app_request.hpp"
#include "service/app_secrets.hpp"
#include "service/callback_params.hpp"
#include "service/new_grant.hpp"
#include "service/platform_call_errors.hpp"
#include "service/webhooks.hpp"
#include "util/url.hpp"

namespace mediax {

namespace {

ApiError unavailable(const StoreError& e) {
  if (dynamic_cast<const SecretUnreadableError*>(&e) != nullptr) {
    // Names the row and why (key not loaded, value changed or moved), never the value.
    return ApiError(500, "secret_unreadable", e.what());
  }
  return ApiError(503, "database_unavailable", "the database is unavailable; try again shortly");
}

}  // namespace

TokenService::TokenService(Store& store, PlatformRegistry& platforms, TokenCache& cache, Refresher& refresher,
                           Scheduler& scheduler, RefreshPolicy& policy, const Config& config,
                           const TimeSource& clock)
    : store_(store),
      platforms_(platforms),
      cache_(cache),
      refresher_(refresher),
      scheduler_(scheduler),
      policy_(policy),
      config_(config),
      clock_(clock),
      usages_(store) {
  try {
    usages_.load_all();
  } catch (const StoreError& e) {
    spdlog::warn("apps not read yet ({}): each is read when its token is first asked for", e.what());
  }
}

void TokenService::record_event(std::optional<std::int64_t> app_id, std::optional<std::int64_t> grant_id,
                                const std::string& kind, nlohmann::json detail) {
  try {
    Event e;
    e.app_id = app_id;
    e.grant_id = grant_id;
    e.kind = kind;
    e.detail = std::move(detail);
    store_.add_event(e);
  } catch (const std::exception& ex) {
    spdlog::warn("could not record event {}: {}", kind, ex.what());
  }
}

App TokenService::register_app(const nlohmann::json& body) {
  // "webhook" is ours; the rest is the app (validated strictly by app_from_request).
  std::optional<webhooks::Setting> hook;
  App app;
  if (body.is_object() && body.contains("webhook")) {
    if (!body["webhook"].is_null()) hook = webhooks::setting_from_request(body["webhook"], "webhook.");
    nlohmann::json rest = body;
    rest.erase("webhook");
    app = app_from_request(rest, platforms_.names(), config_.callback_url());
  } else {
    app = app_from_request(body, platforms_.names(), config_.callback_url());
  }
  auto check = platforms_.get(app.platform)->prepare_app(app);
  if (!check.ok) throw ApiError(check.status, check.code, check.message);
  app.token_usage = token_usage_for(app.platform);
  if (auto own = app_token_usage_for(app.platform); own != app.token_usage) app.app_token_usage = own;
  PlatformSettings urls;
  urls.urls = config_.platforms;
  app.credential_key = credential_key(app, urls);

  try {
    app = store_.create_app(app);
  } catch (const CredentialInUseError& e) {
    // One credential, one app token: a second fetcher would invalidate the first one's tokens.
    throw ApiError(409, "credential_in_use",
                   (e.holder.empty() ? std::string("another app") : "app '" + e.holder + "'") +
                       " fetches its app token with this credential (platform, client_id, base URL) already;"
                       " two fetchers invalidate each other's tokens: read that app's token instead",
                   {{"app", e.holder.empty() ? nlohmann::json(nullptr) : nlohmann::json(e.holder)}});
  } catch (const DuplicateError&) {
    throw ApiError(409, "duplicate", "an app named '" + app.name + "' already exists");
  } catch (const StoreError& e) {
    throw unavailable(e);
  }
  if (hook) {
    // Before the first token is scheduled, so its failure already reaches the webhook.
    try {
      store_.set_webhook(app.id, hook->url, hook->secret);
      app.webhook_url = hook->url;
    } catch (const StoreError& e) {
      try {
        store_.delete_app(app.name);  // all or nothing
      } catch (const StoreError&) {
        spdlog::error("app '{}' was registered without its webhook (database failed)", app.name);
      }
      throw unavailable(e);
    }
  }
  usages_.remember(app);
  record_event(app.id, std::nullopt, "app_registered", {{"name", app.name}, {"platform", app.platform}});
  spdlog::info("app '{}' registered (platform {}, client credentials {})", app.name, app.platform, app.client_credentials);
  if (app.client_credentials) {
    RefreshKey key{app.id, 0};
    auto now = clock_.system();
    try {
      store_.set_next_refresh(key, now);
    } catch (const StoreError& e) {
      spdlog::warn("app '{}': could not schedule its first token yet: {}", app.name, e.what());
    }
    scheduler_.schedule(key, now);
  }
  app.client_secret.clear();
  return app;
}

std::vector<App> TokenService::list_apps() {
  try {
    return store_.list_apps();
  } catch (const StoreError& e) {
    throw unavailable(e);
  }
}

App TokenService::get_app(const std::string& name) {
  std::optional<App> app;
  try {
    if (valid_app_name(name)) app = store_.get_app(name);
    if (app) {
      if (auto w = store_.get_webhook(app->id)) app->webhook_url = w->url;
    }
  } catch (const StoreError& e) {
    throw unavailable(e);
  }
  if (!app) throw ApiError(404, "not_found", "no app named '" + name + "'");
  return *app;
}

std::pair<App, Platform*> TokenService::app_for_platform_call(const std::string& name) {
  std::optional<App> app;
  try {
    if (valid_app_name(name)) app = store_.get_app(name, true);
  } catch (const StoreError& e) {
    throw unavailable(e);
  }
  if (!app) throw ApiError(404, "not_found", "no app named '" + name + "'");
  Platform* platform = platforms_.get(app->platform);
  if (!platform) throw ApiError(400, "unknown_platform", "platform '" + app->platform + "' is not supported");
  return {std::move(*app), platform};
}

App TokenService::set_webhook(const std::string& app_name, const nlohmann::json& body) {
  auto app = get_app(app_name);
  const auto hook = webhooks::setting_from_request(body, "");
  try {
    store_.set_webhook(app.id, hook.url, hook.secret);
  } catch (const StoreError& e) {
    throw unavailable(e);
  }
  const bool replaced = !app.webhook_url.empty();
  app.webhook_url = hook.url;
  record_event(app.id, std::nullopt, "webhook_set", {{"url", redact_url(hook.url)}});
  spdlog::info("app '{}': webhook {} ({})", app.name, replaced ? "replaced" : "set", redact_url(hook.url));
  return app;
}

App TokenService::delete_webhook(const std::string& app_name) {
  auto app = get_app(app_name);
  bool had = false;
  try {
    had = store_.delete_webhook(app.id);
  } catch (const StoreError& e) {
    throw unavailable(e);
  }
  if (!had) throw ApiError(404, "not_found", "app '" + app.name + "' has no webhook");
  app.webhook_url.clear();
  record_event(app.id, std::nullopt, "webhook_removed", nlohmann::json::object());
  spdlog::info("app '{}': webhook removed", app.name);
  return app;
}

std::pair<Webhook, std::vector<WebhookDelivery>> TokenService::get_webhook(const std::string& app_name, int limit) {
  auto app = get_app(app_name);
  try {
    auto hook = store_.get_webhook(app.id);
    if (!hook) throw ApiError(404, "not_found", "app '" + app.name + "' has no webhook");
    return {*hook, store_.list_webhook_deliveries(app.id, limit)};
  } catch (const StoreError& e) {
    throw unavailable(e);
  }
}

void TokenService::delete_app(const std::string& name) {
  auto app = get_app(name);
  try {
    if (!store_.delete_app(name)) throw ApiError(404, "not_found", "no app named '" + name + "'");
  } catch (const StoreError& e) {
    throw unavailable(e);
  }
  scheduler_.cancel(RefreshKey{app.id, 0});
  cache_.erase_app(app.id);
  {
    std::lock_guard lk(known_apps_mu_);
    known_app_tokens_.erase(app.name);
  }
  record_event(app.id, std::nullopt, "app_deleted", {{"name", app.name}});
  spdlog::info("app '{}' deleted", app.name);
}

App TokenService::update_app_secrets(const std::string& name, const nlohmann::json& body) {
  const auto change = app_secrets_change_from_request(body);
  auto [app, platform] = app_for_platform_call(name);
  if (app.options.is_object() && app.options.contains("service_account")) {
    // Its key file is the secret; such an app has no grants to keep: register it again.
    throw ApiError(422, "not_supported", "a service-account app changes its key by being registered again");
  }
  App candidate = app;
  const auto changed = apply_app_secrets(candidate, change);
  // Checked as at registration; the stored endpoints stand (no discovery again).
  App checked = candidate;
  if (!checked.issuer.empty() && !checked.endpoints.token_url.empty()) checked.issuer.clear();
  const auto check = platform->prepare_app(checked);
  // prepare_app moves the platform's secret options out of `options`: a name left there is not one.
  for (const auto& [option, value] : change.options.items()) {
    if (!value.is_null() && checked.options.is_object() && checked.options.contains(option)) {
      throw bad_field("options." + option, "not a secret option of platform " + app.platform);
    }
  }
  // The body was well formed; the platform refuses the values (or what they leave stored).
  if (!check.ok) throw ApiError(check.status == 400 ? 422 : check.status, check.code, check.message);
  // A client secret given again unchanged still restarts a stopped app token: the admin says it is right.
  if (!changed.empty() || change.client_secret) {
    const bool secret_changed = std::find(changed.begin(), changed.end(), "client_secret") != changed.end();
    const bool options_changed = changed.size() > (secret_changed ? 1U : 0U);
    const auto now = clock_.system();
    AppSecretsUpdated done;
    try {
      done = store_.update_app_secrets(
          app.id, secret_changed ? std::optional<std::string>(checked.client_secret) : std::nullopt,
          options_changed ? std::optional<nlohmann::json>(checked.secret_options) : std::nullopt,
          change.client_secret ? std::optional<TimePoint>(now) : std::nullopt);
    } catch (const StoreError& e) {
      throw unavailable(e);
    }
    if (!done.found) throw ApiError(404, "not_found", "no app named '" + name + "'");
    if (done.rescheduled) scheduler_.schedule(RefreshKey{app.id, 0}, now);
    if (changed.empty() && !done.rescheduled) return get_app(name);  // the same secret again: nothing to say
    std::string fields;
    for (const auto& f : changed) fields += (fields.empty() ? "" : ", ") + f;
    record_event(app.id, std::nullopt, "app_secrets_changed",
                 {{"fields", changed}, {"app_token_restarted", done.rescheduled}});
    spdlog::info("app '{}': secrets changed ({}){}", app.name, fields,
                 done.rescheduled ? "; its stopped app token is fetched again now" : "");
  }
  return get_app(name);
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
    throw unavailable(e);
  }
  return {url, req.state, req.expires_at};
}

bool TokenService::app_waits_for_ticket(const std::string& app_name) {
  // Read again: the failed call may just have tried (and failed) to fetch the app token.
  try {
    const auto app = store_.get_app(app_name);
    return app && last_error_waits_for_ticket(app->last_error);
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
  auto app = get_app(app_name);
  try {
    return store_.list_grants(app.id);
  } catch (const StoreError& e) {
    throw unavailable(e);
  }
}

Grant TokenService::get_grant(std::int64_t id) {
  std::optional<Grant> g;
  try {
    g = store_.get_grant(id);
  } catch (const StoreError& e) {
    throw unavailable(e);
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
    throw unavailable(e);
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
    throw unavailable(e);
  }
  scheduler_.cancel(RefreshKey{g->app_id, id});
  cache_.erase(RefreshKey{g->app_id, id});
  record_event(g->app_id, id, "grant_revoked", {{"platform_revocation", platform_result}});
  spdlog::info("grant {} of app '{}' revoked (platform: {})", id, app->name, platform_result);
  return platform_result;
}

RefreshKey TokenService::app_token_key(const std::string& app_name) {
  std::optional<App> found;
  try {
    if (valid_app_name(app_name)) found = store_.get_app(app_name);
  } catch (const StoreError& e) {
    std::lock_guard lk(known_apps_mu_);
    auto it = known_app_tokens_.find(app_name);
    if (it == known_app_tokens_.end()) throw unavailable(e);
    return RefreshKey{it->second, 0};
  }
  if (!found) {
    std::lock_guard lk(known_apps_mu_);
    known_app_tokens_.erase(app_name);
    throw ApiError(404, "not_found", "no app named '" + app_name + "'");
  }
  const App& app = *found;
  if (app.client_credentials) {
    std::lock_guard lk(known_apps_mu_);
    known_app_tokens_[app.name] = app.id;
  }
  if (!app.client_credentials) {
    throw ApiError(404, "no_app_token", "app '" + app.name + "' does not use client credentials; read a grant's token instead");
  }
  return RefreshKey{app.id, 0};
}

std::string TokenService::get_app_name(std::int64_t app_id) {
  try {
    auto app = store_.get_app_by_id(app_id);
    return app ? app->name : std::string();
  } catch (const StoreError& e) {
    throw unavailable(e);
  }
}

RefreshKey TokenService::grant_key(std::int64_t grant_id) {
  // Token reads are the hot path: a grant with a token in memory needs no database round trip.
  if (auto t = cache_.get(RefreshKey{0, grant_id})) return RefreshKey{t->app_id, grant_id};
  auto g = get_grant(grant_id);
  return RefreshKey{g.app_id, g.id};
}

Token TokenService::current_token(const RefreshKey& key) {
  auto t = cache_.get(key);
  if (!t) throw ApiError(404, "no_token", "there is no token yet");
  refuse_expiring(*t);
  return answered(std::move(*t));
}

std::optional<Token> TokenService::cached_grant_token(std::int64_t grant_id) {
  auto t = cache_.get(RefreshKey{0, grant_id});
  if (!t) return t;
  refuse_expiring(*t);
  return answered(std::move(*t));
}

Token TokenService::answered(Token t) {
  std::optional<TokenUsage> usage;
  try {
    usage = usages_.get(RefreshKey{t.app_id, t.grant_id.value_or(0)});
  } catch (const StoreError& e) {
    // Not known in memory (an app registered on another instance since start) and not readable.
    throw unavailable(e);
  }
  if (!usage) throw ApiError(404, "not_found", "the app of this token was deleted");
  t.token_usage = *usage;
  return t;
}

void TokenService::refuse_expiring(const Token& t) const {
  // Never hand out an expired token: the caller must see that something is wrong. expires_at goes
  // out in whole seconds (truncated): a token with under a second left could show an expires_at
  // that is already past when it arrives, and is of no use to the caller anyway.
  if (const auto now = clock_.system(); t.expires_at - now < std::chrono::seconds(1)) {
    const std::string when = t.expires_at <= now ? "expired at " + format_time(t.expires_at)
                                                  : "expires at " + format_time(t.expires_at) + " (less than a second left)";
    throw ApiError(503, "token_expired",
                   "the token " + when + " and has not been refreshed yet; see the grant's or app's last_error");
  }
}

std::optional<TimePoint> TokenService::token_expiry(const RefreshKey& key) const {
  auto t = cache_.get(key);
  if (!t) return std::nullopt;
  return t->expires_at;
}

Token TokenService::token_from(const RefreshResult& r, const RefreshKey& key) {
  using S = RefreshResult::Status;
  switch (r.status) {
    case S::refreshed:
      if (r.token) return *r.token;
      break;
    case S::failed:
      throw ApiError(502, "platform_error", r.message,
                     {{"platform_code", r.outcome.code}, {"class", to_string(r.outcome.kind)}});
    case S::gone:
      throw ApiError(409, "not_active", "this grant or app is not active: " + r.message);
    case S::not_acquired:
      // Another instance is refreshing it right now; its result is what we will serve.
      if (auto t = cache_.get(key)) return *t;
      throw ApiError(409, "refresh_in_progress", "another instance is refreshing this token; try again shortly");
    case S::store_error:
      if (r.token) return *r.token;
      throw ApiError(503, "database_unavailable", "the database is unavailable; try again shortly");
  }
  return current_token(key);
}

Token TokenService::force_refresh(const RefreshKey& key) {
  return answered(token_from(refresher_.refresh(key, Trigger::forced), key));
}

Token TokenService::token_rejected(const RefreshKey& key, const std::string& access_token) {
  const auto r = refresher_.refresh(key, Trigger::rejected, access_token);
  if (r.status == RefreshResult::Status::not_acquired) {
    // Another instance held the lease for longer than a lease lasts: never hand back the
    // token the caller just said was refused.
    throw ApiError(409, "refresh_in_progress", "another instance is refreshing this token; try again shortly");
  }
  if (r.status == RefreshResult::Status::refreshed && r.outcome.code == kTokenStillCurrent && r.token) {
    // The platform still calls the refused token current and no new one was forced (others hold
    // it): handing it back as if new would only make the consumer fail again.
    throw ApiError(409, kTokenStillCurrent, r.outcome.message, {{"expires_at", format_time(r.token->expires_at)}});
  }
  return answered(token_from(r, key));
}

}  // namespace mediax
