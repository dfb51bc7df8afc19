#include "service/token_service.hpp"

#include <spdlog/spdlog.h>

#include <regex>
#include <set>

#include "crypto/crypto.hpp"
#include "platforms/oauth2_platform.hpp"
#include "platforms/registry.hpp"
#include "schedule/scheduler.hpp"

namespace mediax {

bool valid_app_name(const std::string& name) {
  static const std::regex re("[a-z0-9][a-z0-9_-]{0,62}");
  return std::regex_match(name, re);
}

namespace {

ApiError bad_field(const std::string& field, const std::string& why) {
  return ApiError(400, "invalid_field", field + ": " + why);
}

ApiError unavailable(const StoreError&) {
  return ApiError(503, "database_unavailable", "the database is unavailable; try again shortly");
}

bool is_http_url(const std::string& s) {
  return s.rfind("http://", 0) == 0 || s.rfind("https://", 0) == 0;
}

std::string get_string(const nlohmann::json& body, const std::string& field, bool required, std::size_t max_len = 2048) {
  auto it = body.find(field);
  if (it == body.end() || it->is_null()) {
    if (required) throw bad_field(field, "is required");
    return {};
  }
  if (!it->is_string()) throw bad_field(field, "must be a string");
  auto v = it->get<std::string>();
  if (required && v.empty()) throw bad_field(field, "must not be empty");
  if (v.size() > max_len) throw bad_field(field, "is longer than " + std::to_string(max_len) + " characters");
  return v;
}

std::string get_url(const nlohmann::json& obj, const std::string& field, const std::string& label, bool required) {
  auto v = get_string(obj, field, required);
  if (!v.empty() && !is_http_url(v)) throw bad_field(label, "must be an http:// or https:// URL");
  return v;
}

}  // namespace

TokenService::TokenService(Store& store, PlatformRegistry& platforms, HttpClient& http, TokenCache& cache,
                           Refresher& refresher, Scheduler& scheduler, RefreshPolicy& policy, const Config& config,
                           const Clock& clock)
    : store_(store),
      platforms_(platforms),
      http_(http),
      cache_(cache),
      refresher_(refresher),
      scheduler_(scheduler),
      policy_(policy),
      config_(config),
      clock_(clock) {}

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
  if (!body.is_object()) throw ApiError(400, "invalid_json", "the body must be a JSON object");
  static const std::set<std::string> known = {"name",     "platform",  "client_id",         "client_secret",
                                              "scopes",   "client_credentials", "issuer",     "endpoints",
                                              "token_auth_method", "redirect_uri", "options"};
  for (const auto& [k, v] : body.items()) {
    if (!known.count(k)) throw bad_field(k, "unknown field");
  }
  App app;
  app.name = get_string(body, "name", true, 63);
  if (!valid_app_name(app.name)) throw bad_field("name", "must match [a-z0-9][a-z0-9_-]{0,62}");
  app.platform = get_string(body, "platform", true, 32);
  if (!platforms_.get(app.platform)) {
    std::string list;
    for (const auto& p : platforms_.names()) list += (list.empty() ? "" : ", ") + p;
    throw ApiError(400, "unknown_platform", "platform '" + app.platform + "' is not supported (known: " + list + ")");
  }
  app.client_id = get_string(body, "client_id", false, 512);
  app.client_secret = get_string(body, "client_secret", false, 4096);
  if (auto it = body.find("scopes"); it != body.end() && !it->is_null()) {
    if (!it->is_array()) throw bad_field("scopes", "must be an array of strings");
    for (const auto& s : *it) {
      if (!s.is_string() || s.get<std::string>().empty()) throw bad_field("scopes", "must be an array of non-empty strings");
      if (s.get<std::string>().find_first_of(" \t\r\n") != std::string::npos) throw bad_field("scopes", "a scope may not contain spaces");
      app.scopes.push_back(s.get<std::string>());
    }
  }
  if (auto it = body.find("client_credentials"); it != body.end() && !it->is_null()) {
    if (!it->is_boolean()) throw bad_field("client_credentials", "must be true or false");
    app.client_credentials = it->get<bool>();
  }
  app.token_auth_method = get_string(body, "token_auth_method", false, 32);
  if (app.token_auth_method.empty()) app.token_auth_method = "client_secret_post";
  if (app.token_auth_method != "client_secret_post" && app.token_auth_method != "client_secret_basic") {
    throw bad_field("token_auth_method", "must be client_secret_post or client_secret_basic");
  }
  app.redirect_uri = get_url(body, "redirect_uri", "redirect_uri", false);
  if (app.redirect_uri.empty()) app.redirect_uri = config_.callback_url();
  if (auto it = body.find("options"); it != body.end() && !it->is_null()) {
    if (!it->is_object()) throw bad_field("options", "must be an object");
    app.options = *it;
  }
  app.issuer = get_url(body, "issuer", "issuer", false);
  if (auto it = body.find("endpoints"); it != body.end() && !it->is_null()) {
    if (!it->is_object()) throw bad_field("endpoints", "must be an object");
    for (const auto& [k, v] : it->items()) {
      if (k != "authorize_url" && k != "token_url" && k != "revocation_url") throw bad_field("endpoints." + k, "unknown field");
    }
    app.endpoints.authorize_url = get_url(*it, "authorize_url", "endpoints.authorize_url", false);
    app.endpoints.token_url = get_url(*it, "token_url", "endpoints.token_url", false);
    app.endpoints.revocation_url = get_url(*it, "revocation_url", "endpoints.revocation_url", false);
  }
  if (body.contains("issuer") && body.contains("endpoints")) {
    throw bad_field("issuer", "give either issuer (discovery) or endpoints, not both");
  }
  auto check = platforms_.get(app.platform)->prepare_app(app);
  if (!check.ok) throw ApiError(check.status, check.code, check.message);

  try {
    app = store_.create_app(app);
  } catch (const DuplicateError&) {
    throw ApiError(409, "duplicate", "an app named '" + app.name + "' already exists");
  } catch (const StoreError& e) {
    throw unavailable(e);
  }
  record_event(app.id, std::nullopt, "app_registered", {{"name", app.name}, {"platform", app.platform}});
  spdlog::info("app '{}' registered (platform {}, client credentials {})", app.name, app.platform, app.client_credentials);
  if (app.client_credentials) {
    RefreshKey key{app.id, 0};
    auto now = clock_.now();
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
  } catch (const StoreError& e) {
    throw unavailable(e);
  }
  if (!app) throw ApiError(404, "not_found", "no app named '" + name + "'");
  return *app;
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
  record_event(app.id, std::nullopt, "app_deleted", {{"name", app.name}});
  spdlog::info("app '{}' deleted", app.name);
}

AuthorizeStart TokenService::start_authorization(const std::string& app_name) {
  auto app = get_app(app_name);
  Platform* platform = platforms_.get(app.platform);
  if (!platform) throw ApiError(400, "unknown_platform", "platform '" + app.platform + "' is not supported");
  AuthRequest req;
  // 256 random bits as hex: WeChat's authorize page accepts only letters and digits in state.
  req.state = crypto::to_hex(crypto::random_bytes(32));
  req.app_id = app.id;
  req.redirect_uri = app.redirect_uri;
  req.expires_at = clock_.now() + Seconds(config_.oauth.state_ttl_seconds);
  AuthorizeParams p;
  p.state = req.state;
  p.redirect_uri = app.redirect_uri;
  if (platform->uses_pkce(app)) {
    req.code_verifier = crypto::pkce_verifier();
    p.code_challenge = crypto::pkce_challenge_s256(req.code_verifier);
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

CallbackResult TokenService::handle_callback(const std::map<std::string, std::string>& params) {
  CallbackResult res;
  auto param = [&](const char* k) -> std::string {
    auto it = params.find(k);
    return it == params.end() ? std::string() : it->second;
  };
  const std::string state = param("state");
  if (state.empty()) {
    res.status = 400;
    res.title = "Missing state";
    res.message = "The platform's answer has no state parameter, so it cannot be matched to a connection request.";
    return res;
  }
  AuthRequest req;
  ConsumeResult cr;
  try {
    cr = store_.consume_auth_request(state, clock_.now(), req);
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
  auto app = store_.get_app_by_id(req.app_id, true);
  if (!app) {
    res.status = 400;
    res.title = "App deleted";
    res.message = "The app this connection was started for no longer exists.";
    return res;
  }
  res.app_name = app->name;
  if (!param("error").empty()) {
    res.status = 400;
    res.title = "The platform refused the authorization";
    res.message = param("error") + (param("error_description").empty() ? "" : ": " + param("error_description"));
    if (res.message.size() > 500) res.message.resize(500);
    record_event(app->id, std::nullopt, "authorization_refused", {{"error", param("error").substr(0, 100)}});
    spdlog::warn("app '{}': the platform refused the authorization: {}", app->name, param("error").substr(0, 100));
    return res;
  }
  const std::string code = param("code");
  if (code.empty()) {
    res.status = 400;
    res.title = "Missing code";
    res.message = "The platform's answer has neither a code nor an error.";
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
  const auto received = clock_.now();
  if (!o.ok()) {
    res.status = 502;
    res.title = "The code exchange failed";
    res.message = to_string(o.kind) + ": " + o.code + (o.message.empty() ? "" : ": " + o.message);
    record_event(app->id, std::nullopt, "code_exchange_failed",
                 {{"class", to_string(o.kind)}, {"code", o.code}, {"message", o.message}});
    spdlog::warn("app '{}': code exchange failed: {} {}: {}", app->name, to_string(o.kind), o.code, o.message);
    return res;
  }
  const auto& t = o.token;
  Grant g;
  g.app_id = app->id;
  g.account_id = t.account_id;
  if (g.account_id.empty()) {
    // The provider did not say who the account is (no id_token, no account field): each
    // connection becomes its own grant.
    g.account_id = "anonymous-" + crypto::to_hex(crypto::random_bytes(8));
  }
  g.scopes = t.scopes.empty() ? app->scopes : t.scopes;
  g.refresh_token = t.refresh_token.value_or("");
  if (t.refresh_expires_in) g.refresh_expires_at = received + *t.refresh_expires_in;
  g.extra = t.extra.is_object() ? t.extra : nlohmann::json::object();
  Token tok;
  tok.app_id = app->id;
  tok.access_token = t.access_token;
  tok.token_type = t.token_type.empty() ? "Bearer" : t.token_type;
  tok.scopes = g.scopes;
  tok.refreshed_at = received;
  tok.expires_at = received + t.expires_in.value_or(policy_.lifetime_default());
  if (!g.refresh_token.empty()) {
    g.next_refresh_at = policy_.next_refresh(received, tok.expires_at, received);
  }
  try {
    g = store_.upsert_grant(g, tok);
  } catch (const StoreError&) {
    res.status = 503;
    res.title = "Database unavailable";
    res.message = "The account was authorized but could not be stored. Connect it again in a minute.";
    spdlog::error("app '{}': authorized account could not be stored: database unavailable", app->name);
    return res;
  }
  tok.grant_id = g.id;
  cache_.put(tok);
  if (g.next_refresh_at) {
    scheduler_.schedule(RefreshKey{app->id, g.id}, *g.next_refresh_at);
  } else {
    scheduler_.cancel(RefreshKey{app->id, g.id});
  }
  record_event(app->id, g.id, "grant_connected", {{"account_id", g.account_id}});
  spdlog::info("app '{}': account '{}' connected as grant {}{}", app->name, g.account_id, g.id,
               t.refresh_token ? "" : " (no refresh token: it cannot be refreshed)");
  res.status = 200;
  res.title = "Connected";
  res.message = "Account '" + g.account_id + "' of app '" + app->name + "' is connected as grant " + std::to_string(g.id) + ".";
  g.refresh_token.clear();
  res.grant = g;
  return res;
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
    g = store_.get_grant(id, true);
    if (g) app = store_.get_app_by_id(g->app_id, true);
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
  auto app = get_app(app_name);
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
  if (t->expires_at <= clock_.now()) {
    // Never hand out an expired token: the caller must see that something is wrong.
    throw ApiError(503, "token_expired",
                   "the token expired at " + format_time(t->expires_at) +
                       " and has not been refreshed yet; see the grant's or app's last_error");
  }
  return *t;
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
  return token_from(refresher_.refresh(key, Trigger::forced), key);
}

Token TokenService::token_rejected(const RefreshKey& key, const std::string& access_token) {
  return token_from(refresher_.refresh(key, Trigger::rejected, access_token), key);
}

}  // namespace mediax
