#include "service/connect_flow.hpp"

#include <spdlog/spdlog.h>

#include "crypto/crypto.hpp"
#include "platforms/granted_scopes.hpp"
#include "platforms/platform_util.hpp"
#include "platforms/registry.hpp"
#include "service/apps.hpp"
#include "service/callback_params.hpp"
#include "service/component_status.hpp"
#include "service/connect_checks.hpp"
#include "service/event_record.hpp"
#include "service/grants.hpp"
#include "service/new_grant_store.hpp"
#include "service/platform_call_errors.hpp"

namespace mediax {

ConnectFlow::ConnectFlow(AdminStore& store, EventLog& events, PlatformRegistry& platforms, Grants& grants,
                         NewGrantStore& new_grants, const Config& config, const TimeSource& time)
    : store_(store),
      events_(events),
      platforms_(platforms),
      grants_(grants),
      new_grants_(new_grants),
      config_(config),
      time_(time) {}

Expected<ConnectLink> ConnectFlow::create_link(const std::string& app_name, const AuthorizeChoices& choices) {
  auto found = app_for_platform_call(store_, platforms_, app_name);
  if (!found) return tl::unexpected(found.error());
  const auto& [app, platform] = *found;
  // What can be told now is told to the admin now, not to whoever opens the link later.
  auto params = authorize_params_for(app, choices);
  if (!params) return tl::unexpected(params.error());
  if (auto why = platform->check_authorize(app, *params); !why.empty())
    return tl::unexpected(ApiError(400, "invalid_field", why));
  // A third-party platform cannot start before WeChat's first ticket: said now (503), not on the
  // page of whoever opens the link.
  if (component_status::waiting_for_ticket(app)) {
    return tl::unexpected(prepare_authorize_error(
        Outcome::failure(OutcomeKind::retry_later, "waiting_for_ticket", "no component_verify_ticket yet", 0,
                         Seconds(600)),
        app.platform, app.name, true));
  }
  if (platform->authorize_url(app, *params).empty()) {
    return tl::unexpected(ApiError(
        400, "no_authorize_endpoint",
        "app '" + app.name + "' cannot connect accounts (no authorization endpoint): it only uses client credentials"));
  }
  // 256 random bits; the link is the capability, so only its hash is stored.
  const std::string ticket = crypto::base64url_encode(crypto::random_bytes(32));
  ConnectTicket t;
  t.ticket_hash = connect_secret_hash(ticket);
  t.app_id = app.id;
  t.choices = authorize_choices_to_json(choices).dump();
  t.expires_at = time_.system() + Seconds(config_.oauth.connect_link_ttl_seconds);
  try {
    store_.create_connect_ticket(t);
  } catch (const StoreError& e) {
    return tl::unexpected(database_error(e));
  }
  return ConnectLink{config_.public_url_trimmed() + "/connect/start?ticket=" + ticket, t.expires_at};
}

ConnectStart ConnectFlow::open_link(const std::string& ticket) {
  ConnectStart out;
  auto page = [&out](int status, std::string title, std::string message) {
    out.status = status;
    out.title = std::move(title);
    out.message = std::move(message);
    return out;
  };
  if (ticket.empty() || ticket.size() > 256) {
    const RefusalPage r = ticket_refusal(ConsumeResult::unknown);
    return page(r.status, r.title, r.message);
  }
  ConnectTicket t;
  std::optional<App> app;
  try {
    const ConsumeResult cr = store_.consume_connect_ticket(connect_secret_hash(ticket), time_.system(), t);
    if (cr != ConsumeResult::ok) {
      const RefusalPage r = ticket_refusal(cr);
      spdlog::warn("connect link refused: {}", r.title);
      return page(r.status, r.title, r.message);
    }
    app = store_.get_app_by_id(t.app_id);
  } catch (const StoreError& e) {
    const ApiError err = database_error(e);
    return page(err.status(), "Cannot start the connection", err.what());
  }
  if (!app) return page(400, "App deleted", "The app this link was made for no longer exists.");
  auto choices = parsed([&] { return authorize_choices_from_request(nlohmann::json::parse(t.choices)); });
  if (!choices) return page(500, "Cannot start the connection", choices.error().what());
  // 256 random bits for this browser; the state keeps only their hash.
  out.cookie = crypto::base64url_encode(crypto::random_bytes(32));
  auto started = start_authorization(app->name, *choices, out.cookie);
  if (!started) {
    out.cookie.clear();
    return page(started.error().status(), "Cannot start the connection", started.error().what());
  }
  out.authorize_url = started->authorize_url;
  out.cookie_max_age = Seconds(config_.oauth.state_ttl_seconds);
  return out;
}

Expected<AuthorizeStart> ConnectFlow::start_authorization(const std::string& app_name,
                                                          const AuthorizeChoices& choices,
                                                          const std::string& browser_cookie) {
  // With its secrets: prepare_authorize may call the platform as the app (wechat_component).
  auto found = app_for_platform_call(store_, platforms_, app_name);
  if (!found) return tl::unexpected(found.error());
  const auto& [app, platform] = *found;
  auto params = authorize_params_for(app, choices);
  if (!params) return tl::unexpected(params.error());
  AuthorizeParams& p = *params;
  if (auto why = platform->check_authorize(app, p); !why.empty())
    return tl::unexpected(ApiError(400, "invalid_field", why));
  AuthRequest req;
  // 256 random bits as hex: WeChat's authorize page accepts only letters and digits in state.
  req.state = crypto::to_hex(crypto::random_bytes(32));
  req.app_id = app.id;
  req.redirect_uri = app.redirect_uri;
  req.expires_at = time_.system() + Seconds(config_.oauth.state_ttl_seconds);
  req.browser_hash = browser_cookie.empty() ? std::string() : connect_secret_hash(browser_cookie);
  p.state = req.state;
  p.redirect_uri = app.redirect_uri;
  if (platform->uses_pkce(app)) {
    req.code_verifier = crypto::pkce_verifier();
    p.code_challenge = platform->pkce_challenge(app, req.code_verifier);
  }
  if (Outcome o = platform->prepare_authorize(app, p); !o.ok()) {
    // The outcome names the platform's code and message, never the pre_auth_code.
    spdlog::warn("app '{}': cannot start an authorization: {} {}: {}", app.name, to_string(o.kind), o.code, o.message);
    return tl::unexpected(prepare_authorize_error(o, app.platform, app.name, app_waits_for_ticket(store_, app.name)));
  }
  auto url = platform->authorize_url(app, p);
  if (url.empty()) {
    return tl::unexpected(ApiError(
        400, "no_authorize_endpoint",
        "app '" + app.name + "' cannot connect accounts (no authorization endpoint): it only uses client credentials"));
  }
  try {
    store_.create_auth_request(req);
  } catch (const StoreError& e) {
    return tl::unexpected(database_error(e));
  }
  return AuthorizeStart{url, req.state, req.expires_at};
}

Expected<AuthorizeParams> ConnectFlow::authorize_params_for(const App& app, const AuthorizeChoices& c) {
  AuthorizeParams p;
  p.scopes = c.scopes;
  p.prompt = c.prompt;
  p.login_hint = c.login_hint;
  p.include_granted_scopes = c.include_granted_scopes.value_or(false);
  p.mobile = c.mobile;
  p.auth_type = c.auth_type;
  p.biz_appid = c.biz_appid;
  if (!c.grant_id) return p;
  auto found = grants_.get_grant(*c.grant_id);
  if (!found) return tl::unexpected(found.error());
  const Grant& g = *found;
  if (g.app_id != app.id) {
    return tl::unexpected(ApiError(
        400, "invalid_field", "grant_id: grant " + std::to_string(g.id) + " is not one of app '" + app.name + "'s"));
  }
  // Incremental authorization: ask the same account for what it lacks; the new token carries the
  // scopes granted before as well, and the connection updates this grant (same account id).
  if (p.scopes.empty()) p.scopes = granted_scopes::missing_of(g.extra);
  if (p.scopes.empty()) {
    return tl::unexpected(
        ApiError(409, "no_missing_scopes", "grant " + std::to_string(g.id) + " has every scope the app requires"));
  }
  p.include_granted_scopes = c.include_granted_scopes.value_or(true);
  if (p.login_hint.empty() && g.account_id.rfind("anonymous-", 0) != 0) p.login_hint = g.account_id;
  return p;
}

CallbackResult ConnectFlow::handle_callback(const CallbackRequest& request) {
  CallbackResult res;
  // `code`, or the WeChat third-party platform's `auth_code` (service/callback_params.hpp).
  const CallbackParams cb = callback_params(request.params);
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
    cr = store_.consume_auth_request(state, time_.system(), req);
  } catch (const SecretUnreadableError& e) {
    spdlog::error("oauth callback refused: {}", e.what());
    res.status = 500;
    res.title = "Connection request unreadable";
    res.message =
        "The stored connection request cannot be decrypted (see the daemon's log). Start the connection again.";
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
    res.message =
        cr == ConsumeResult::used ? "This authorization answer was already used. Start the connection again."
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
    res.message = res.status == 500
                      ? "The app's stored client secret cannot be decrypted (see the daemon's log)."
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
  Platform* platform = platforms_.get(app->platform);
  if (!platform) {
    res.status = 400;
    res.title = "Unknown platform";
    res.message = "platform '" + app->platform + "' is not supported";
    return res;
  }
  // Before anything the answer says is believed, even an error: the state was used up above, so a
  // refused attempt cannot be retried with the same state.
  if (auto refused = refusal(request, req, *app, *platform, cb.iss)) return *refused;
  if (!cb.error.empty()) {
    res.status = 400;
    res.title = "The platform refused the authorization";
    res.message = cb.error + (cb.error_description.empty() ? "" : ": " + cb.error_description);
    if (res.message.size() > 500) res.message.resize(500);
    record_event(events_, app->id, std::nullopt, "authorization_refused", {{"error", cb.error.substr(0, 100)}});
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
  Outcome o = platform->exchange_code(*app, code, req.code_verifier, req.redirect_uri);
  const auto received = time_.system();
  if (!o.ok()) {
    res.status = 502;
    res.title = "The code exchange failed";
    res.message = to_string(o.kind) + ": " + o.code + (o.message.empty() ? "" : ": " + o.message);
    if (cb.auth_code && o.kind == OutcomeKind::needs_reauth) {
      // The same code also comes in the `authorized` event, which may have spent it a moment earlier.
      res.message +=
          ". WeChat also sends this code to the platform's event URL: if the account is among the "
          "app's grants now, it was connected from there.";
    }
    record_event(events_, app->id, std::nullopt, "code_exchange_failed",
                 {{"class", to_string(o.kind)}, {"code", o.code}, {"message", o.message}});
    spdlog::warn("app '{}': code exchange failed: {} {}: {}", app->name, to_string(o.kind), o.code, o.message);
    return res;
  }
  Grant g;
  try {
    g = new_grants_.store(*app, o.token, received, Grant{}, "grant_connected",
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
  res.message = "Account '" + g.account_id + "' of app '" + app->name + "' is connected as grant " +
                std::to_string(g.id) + ".";
  if (cb.auth_code) {
    // WeChat third-party platform: the account is the authorizer appid, the scopes the permission
    // sets (func_info ids) the admin actually granted, which may be fewer than the platform declared.
    res.message += g.scopes.empty() ? " No permission set was granted."
                                    : " Permission sets granted: " + platform_util::join(g.scopes, ", ") + ".";
  }
  if (!missing.empty()) {
    // Granular consent: the user unticked some scopes. The grant works for the others.
    res.message += " It is connected, but without: " + platform_util::join(missing, ", ") +
                   ". Ask again for just those with POST /v1/apps/" + app->name +
                   "/authorize {\"grant_id\": " + std::to_string(g.id) + "}.";
  }
  g.refresh_token.clear();
  res.grant = g;
  return res;
}

std::optional<CallbackResult> ConnectFlow::refusal(const CallbackRequest& cb, const AuthRequest& req, const App& app,
                                                  Platform& platform, const std::optional<std::string>& iss) {
  CallbackResult res;
  res.app_name = app.name;
  auto refuse = [&](int status, std::string title, std::string message, const char* why) {
    res.status = status;
    res.title = std::move(title);
    res.message = std::move(message);
    record_event(events_, app.id, std::nullopt, "callback_refused", {{"reason", why}});
    spdlog::warn("app '{}': oauth callback refused, code not exchanged: {}", app.name, why);
    return std::optional<CallbackResult>(res);
  };
  switch (check_binding(req.browser_hash, cb.cookie)) {
    case BindingVerdict::ok: break;
    case BindingVerdict::unbound:
      return refuse(403, "Connection not bound to a browser",
                    "This connection was started before the daemon bound connections to browsers. Start it again.",
                    "unbound_state");
    case BindingVerdict::no_cookie:
    case BindingVerdict::mismatch:
      return refuse(403, "Wrong browser",
                    "This connection was started in another browser (or this browser does not keep cookies): only "
                    "the browser that opened the connect link can finish it. The account was not connected; start "
                    "again from a new connect link in the browser you sign in with.",
                    "browser_mismatch");
  }
  if (!callback_path_fits(cb.path_app, app.name, req.redirect_uri)) {
    return refuse(400, "Wrong callback address",
                  "This answer reached the callback of another app than the one the connection was started for. "
                  "The account was not connected.",
                  "callback_path_mismatch");
  }
  switch (check_iss(platform.callback_issuer(app), iss)) {
    case IssVerdict::ok: break;
    case IssVerdict::missing:
      return refuse(400, "Issuer missing",
                    "The authorization server says it names itself in its answers (iss, RFC 9207), and this answer "
                    "does not. The account was not connected.",
                    "iss_missing");
    case IssVerdict::mismatch:
      return refuse(400, "Wrong issuer",
                    "The answer names another authorization server (iss) than the app's. The account was not "
                    "connected.",
                    "iss_mismatch");
    case IssVerdict::metadata_unavailable:
      return refuse(502, "Authorization server unreachable",
                    "The authorization server's metadata (does it send iss?) cannot be read now. Start the "
                    "connection again in a minute.",
                    "iss_metadata_unavailable");
  }
  return std::nullopt;
}

Expected<Grant> ConnectFlow::connect_with_code(const App& app, const std::string& code, const std::string& event) {
  Platform* platform = platforms_.get(app.platform);
  if (!platform) {
    return tl::unexpected(ApiError(400, "unknown_platform", "platform '" + app.platform + "' is not supported"));
  }
  Outcome o = platform->exchange_code(app, code, "", app.redirect_uri);
  const auto received = time_.system();
  if (!o.ok()) {
    record_event(events_, app.id, std::nullopt, "code_exchange_failed",
                 {{"class", to_string(o.kind)}, {"code", o.code}, {"message", o.message}});
    return tl::unexpected(ApiError(502, "platform_error",
                                   to_string(o.kind) + ": " + o.code + (o.message.empty() ? "" : ": " + o.message),
                                   {{"platform_code", o.code}, {"class", to_string(o.kind)}}));
  }
  return new_grants_.store(app, o.token, received, Grant{}, event,
                           {{"missing_scopes", granted_scopes::missing_of(o.token.extra)}, {"via", "platform_event"}});
}

}  // namespace mediax
