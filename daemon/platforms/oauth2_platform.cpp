#include "platforms/oauth2_platform.hpp"

#include <algorithm>
#include <cctype>

#include <nlohmann/json.hpp>

#include "crypto/crypto.hpp"
#include "platforms/platform_util.hpp"
#include "util/strings.hpp"
#include "util/url.hpp"

namespace mediax {

namespace oauth2 {

namespace {

using nlohmann::json;

using platform_util::clean_text;
using platform_util::id_member;
using platform_util::parse_object;
using platform_util::seconds_member;
using platform_util::string_member;

const char* endpoint_name(Flow flow) { return flow == Flow::revocation ? "revocation endpoint" : "token endpoint"; }

std::string strip_trailing_slashes(std::string s) {
  while (!s.empty() && s.back() == '/') s.pop_back();
  return s;
}

std::vector<std::string> split_scopes(const json& j) {
  std::vector<std::string> out;
  auto it = j.find("scope");
  if (it == j.end()) return out;
  if (it->is_array()) {
    for (const auto& s : *it) {
      if (s.is_string() && !s.get<std::string>().empty()) out.push_back(s.get<std::string>());
    }
    return out;
  }
  if (!it->is_string()) return out;
  std::string s = it->get<std::string>();
  std::size_t i = 0;
  while (i < s.size()) {
    auto b = s.find_first_not_of(" \t", i);
    if (b == std::string::npos) break;
    auto e = s.find_first_of(" \t", b);
    if (e == std::string::npos) e = s.size();
    out.push_back(s.substr(b, e - b));
    i = e;
  }
  return out;
}

std::string join_scopes(const std::vector<std::string>& scopes) {
  std::string out;
  for (const auto& s : scopes) {
    if (s.empty()) continue;
    if (!out.empty()) out += ' ';
    out += s;
  }
  return out;
}

OutcomeKind kind_for_error_code(const std::string& code) {
  if (code == "invalid_grant") return OutcomeKind::needs_reauth;
  if (code == "invalid_client" || code == "unauthorized_client" || code == "unsupported_grant_type" ||
      code == "invalid_scope" || code == "invalid_request" || code == "unsupported_token_type") {
    return OutcomeKind::app_misconfigured;
  }
  if (code == "slow_down") return OutcomeKind::rate_limited;
  // temporarily_unavailable, server_error and codes we do not know: back off and try again.
  return OutcomeKind::retry_later;
}

std::string status_message(Flow flow, int status, const std::string& what) {
  return std::string("the ") + endpoint_name(flow) + " answered HTTP " + std::to_string(status) + what;
}

}  // namespace

bool pkce_enabled(const App& app) {
  if (!app.options.is_object()) return true;
  auto it = app.options.find("pkce");
  return !(it != app.options.end() && it->is_boolean() && !it->get<bool>());
}

std::string build_authorize_url(const App& app, const AuthorizeParams& p, bool pkce) {
  const std::string& base = app.endpoints.authorize_url;
  if (base.empty()) return "";
  Form q{{"response_type", "code"},
         {"client_id", app.client_id},
         {"redirect_uri", p.redirect_uri.empty() ? app.redirect_uri : p.redirect_uri}};
  std::string scope = join_scopes(p.scopes.empty() ? app.scopes : p.scopes);
  if (!scope.empty()) q.emplace_back("scope", scope);
  q.emplace_back("state", p.state);
  // OpenID Connect Core §3.1.2.1.
  if (!p.prompt.empty()) q.emplace_back("prompt", p.prompt);
  if (!p.login_hint.empty()) q.emplace_back("login_hint", p.login_hint);
  if (pkce && !p.code_challenge.empty()) {
    q.emplace_back("code_challenge", p.code_challenge);
    q.emplace_back("code_challenge_method", "S256");
  }
  std::string url = base.substr(0, base.find('#'));
  if (url.find('?') == std::string::npos) {
    url += '?';
  } else if (url.back() != '?' && url.back() != '&') {
    url += '&';
  }
  return url + form_encode(q);
}

HttpClientRequest build_form_request(const App& app, const std::string& url, Form fields) {
  HttpClientRequest req;
  req.method = "POST";
  req.url = url;
  req.content_type = "application/x-www-form-urlencoded";
  req.headers.emplace_back("Accept", "application/json");
  if (app.client_secret.empty()) {
    // A public client identifies itself and nothing more (RFC 6749 §4.1.3, §3.2.1).
    fields.emplace_back("client_id", app.client_id);
  } else if (app.token_auth_method == "client_secret_basic") {
    // §2.3.1: the id and the secret are form-urlencoded before they are joined with ':'.
    std::string credentials = url_encode(app.client_id) + ":" + url_encode(app.client_secret);
    req.headers.emplace_back("Authorization", "Basic " + crypto::base64_encode(credentials));
  } else {
    fields.emplace_back("client_id", app.client_id);
    fields.emplace_back("client_secret", app.client_secret);
  }
  req.body = form_encode(fields);
  return req;
}

HttpClientRequest build_code_request(const App& app, const std::string& code, const std::string& code_verifier,
                                     const std::string& redirect_uri) {
  Form f{{"grant_type", "authorization_code"},
         {"code", code},
         {"redirect_uri", redirect_uri.empty() ? app.redirect_uri : redirect_uri}};
  if (!code_verifier.empty()) f.emplace_back("code_verifier", code_verifier);
  return build_form_request(app, app.endpoints.token_url, std::move(f));
}

HttpClientRequest build_refresh_request(const App& app, const std::string& refresh_token) {
  // No scope: §6 makes it optional and omitting it keeps the originally granted scope.
  return build_form_request(app, app.endpoints.token_url,
                            {{"grant_type", "refresh_token"}, {"refresh_token", refresh_token}});
}

HttpClientRequest build_client_credentials_request(const App& app) {
  Form f{{"grant_type", "client_credentials"}};
  std::string scope = join_scopes(app.scopes);
  if (!scope.empty()) f.emplace_back("scope", scope);
  return build_form_request(app, app.endpoints.token_url, std::move(f));
}

HttpClientRequest build_revoke_request(const App& app, const std::string& refresh_token) {
  return build_form_request(app, app.endpoints.revocation_url,
                            {{"token", refresh_token}, {"token_type_hint", "refresh_token"}});
}

std::string jwt_subject(const std::string& jwt) {
  auto d1 = jwt.find('.');
  if (d1 == std::string::npos) return "";
  auto d2 = jwt.find('.', d1 + 1);
  // A JWS has exactly three parts; a JWE (five) cannot be read without a key.
  if (d2 == std::string::npos || jwt.find('.', d2 + 1) != std::string::npos) return "";
  auto payload = crypto::base64url_decode(std::string_view(jwt).substr(d1 + 1, d2 - d1 - 1));
  if (!payload) return "";
  auto claims = parse_object(*payload);
  if (!claims) return "";
  return id_member(*claims, "sub");
}

Outcome classify_failure(const HttpClientResponse& r, Flow flow, TimePoint now,
                         const std::vector<std::string>& secrets) {
  if (auto refused = platform_util::refused_address(r, std::string("the ") + endpoint_name(flow))) return *refused;
  if (r.status == 0) {
    std::string err = r.error.empty() ? "unknown" : r.error;
    return Outcome::failure(OutcomeKind::retry_later, "transport_" + err,
                            std::string("no answer from the ") + endpoint_name(flow) + " (" + err + ")");
  }
  auto retry_after = parse_retry_after(r.header("Retry-After"), now);
  std::string oauth_error;
  std::string description;
  if (auto j = parse_object(r.body)) {
    oauth_error = clean_text(scrub(string_member(*j, "error"), secrets));
    description = clean_text(scrub(string_member(*j, "error_description"), secrets));
  }
  const int status = r.status;

  OutcomeKind kind;
  std::string code = oauth_error.empty() ? "http_" + std::to_string(status) : oauth_error;
  std::string message;
  const auto status_class = platform_util::classify_http_status(status);
  if (status_class == platform_util::HttpStatusClass::rate_limited) {
    kind = OutcomeKind::rate_limited;
    message = status_message(flow, status, " (too many requests)");
  } else if (status_class == platform_util::HttpStatusClass::server_trouble) {
    // A server error is never the user's or the app's fault, whatever code it carries.
    kind = OutcomeKind::retry_later;
    message = status_message(flow, status, "");
  } else if (!oauth_error.empty()) {
    kind = kind_for_error_code(oauth_error);
    message = std::string("the ") + endpoint_name(flow) + " answered " + oauth_error;
  } else if (status_class == platform_util::HttpStatusClass::answered) {
    kind = OutcomeKind::retry_later;
    code = "bad_response";
    message = status_message(flow, status, " without an access token");
  } else if (status_class == platform_util::HttpStatusClass::credentials_refused) {
    kind = OutcomeKind::app_misconfigured;
    message = status_message(flow, status, ": the client credentials were refused");
  } else if (status_class == platform_util::HttpStatusClass::wrong_url) {
    kind = OutcomeKind::app_misconfigured;
    message = status_message(flow, status, ": check the endpoint URL");
  } else {
    kind = OutcomeKind::retry_later;
    message = status_message(flow, status, "");
  }
  if (!description.empty()) message = description;
  return Outcome::failure(kind, std::move(code), std::move(message), status, retry_after);
}

Outcome parse_token_response(const HttpClientResponse& r, Flow flow, TimePoint now,
                             const std::vector<std::string>& secrets) {
  if (r.status < 200 || r.status >= 300) return classify_failure(r, flow, now, secrets);
  auto j = parse_object(r.body);
  if (!j) {
    return Outcome::failure(OutcomeKind::retry_later, "bad_response",
                            status_message(flow, r.status, " with a body that is not a JSON object"), r.status);
  }
  // Some providers report errors with HTTP 200.
  if (!string_member(*j, "error").empty()) return classify_failure(r, flow, now, secrets);
  std::string access_token = string_member(*j, "access_token");
  if (access_token.empty()) return classify_failure(r, flow, now, secrets);

  TokenResult t;
  t.access_token = std::move(access_token);
  std::string type = string_member(*j, "token_type");
  // RFC 6750 schemes are case-insensitive; many providers send "bearer".
  if (type.empty() || util::iequals(type, "bearer")) type = "Bearer";
  t.token_type = type;
  t.scopes = split_scopes(*j);
  t.expires_in = seconds_member(*j, "expires_in");
  std::string refresh_token = string_member(*j, "refresh_token");
  if (!refresh_token.empty()) t.refresh_token = std::move(refresh_token);
  t.refresh_expires_in = seconds_member(*j, "refresh_expires_in");
  if (!t.refresh_expires_in) t.refresh_expires_in = seconds_member(*j, "refresh_token_expires_in");

  if (flow == Flow::authorization_code) {
    // A first reading only: the platform classes check the id_token (signature with the provider's
    // JWKS, iss, aud, exp) and replace or refuse this where they know the provider's keys (Google,
    // discovered providers with a jwks_uri). Without keys the answer is trusted as having come
    // straight from the token endpoint over TLS (OpenID Connect Core §3.1.3.7, 6.).
    t.account_id = jwt_subject(string_member(*j, "id_token"));
  }
  for (const char* key : {"account_id", "user_id", "sub", "open_id", "openid"}) {
    if (!t.account_id.empty()) break;
    t.account_id = id_member(*j, key);
  }
  return platform_util::checked_success(std::move(t), r.status, std::string("the ") + endpoint_name(flow));
}

Outcome parse_revoke_response(const HttpClientResponse& r, TimePoint now, const std::vector<std::string>& secrets) {
  if (r.status >= 200 && r.status < 300) {
    Outcome o = Outcome::success({});
    o.http_status = r.status;
    return o;
  }
  if (r.status >= 400 && r.status < 500 && r.status != 429) {
    if (auto j = parse_object(r.body)) {
      // RFC 7009 §2.2 answers 200 for an invalid token; servers that say so with an error mean the same.
      std::string e = string_member(*j, "error");
      if (e == "invalid_grant" || e == "invalid_token") {
        Outcome o = Outcome::success({});
        o.code = e;
        o.http_status = r.status;
        return o;
      }
    }
  }
  return classify_failure(r, Flow::revocation, now, secrets);
}

std::vector<std::string> discovery_urls(const std::string& issuer) {
  if (issuer.find_first_of("?#") != std::string::npos || !parse_url(issuer)) return {};
  std::string base = strip_trailing_slashes(issuer);
  auto slash = base.find('/', base.find("://") + 3);
  std::string origin = slash == std::string::npos ? base : base.substr(0, slash);
  std::string path = slash == std::string::npos ? "" : base.substr(slash);
  return {base + "/.well-known/openid-configuration", origin + "/.well-known/oauth-authorization-server" + path};
}

Discovery parse_discovery_document(const std::string& body, const std::string& issuer) {
  Discovery d;
  auto j = parse_object(body);
  if (!j) {
    d.error = "the metadata is not a JSON object";
    return d;
  }
  std::string got = string_member(*j, "issuer");
  if (got.empty()) {
    d.error = "the metadata has no issuer";
    return d;
  }
  // RFC 8414 §3.3 / OpenID Discovery §4.3: the issuer must be the one we asked for, or the document is an impostor's.
  if (strip_trailing_slashes(got) != strip_trailing_slashes(issuer)) {
    d.error = "the metadata names issuer \"" + clean_text(got) + "\", expected \"" + issuer + "\"";
    return d;
  }
  for (auto [key, target] : {std::pair{"authorization_endpoint", &d.endpoints.authorize_url},
                             std::pair{"token_endpoint", &d.endpoints.token_url}}) {
    std::string url = string_member(*j, key);
    if (url.empty()) {
      d.error = std::string("the metadata has no ") + key;
      return d;
    }
    if (!parse_url(url)) {
      d.error = std::string("the metadata's ") + key + " is not an http(s) URL";
      return d;
    }
    *target = url;
  }
  // Optional: an unusable revocation endpoint only means revocation is not supported.
  std::string revocation = string_member(*j, "revocation_endpoint");
  if (parse_url(revocation)) d.endpoints.revocation_url = revocation;
  d.issuer = got;
  // Optional too: without it id_tokens cannot be verified (and are read as sent).
  std::string jwks = string_member(*j, "jwks_uri");
  if (parse_url(jwks)) d.jwks_uri = jwks;
  if (auto iss = j->find("authorization_response_iss_parameter_supported"); iss != j->end() && iss->is_boolean()) {
    d.iss_parameter_supported = iss->get<bool>();
  }
  for (auto [key, target] : {std::pair{"token_endpoint_auth_methods_supported", &d.token_endpoint_auth_methods},
                             std::pair{"code_challenge_methods_supported", &d.code_challenge_methods}}) {
    auto it = j->find(key);
    if (it == j->end() || !it->is_array()) continue;
    for (const auto& v : *it) {
      if (v.is_string()) target->push_back(v.get<std::string>());
    }
  }
  return d;
}

}  // namespace oauth2

oauth2::Discovery discover(HttpClient& http, const std::string& issuer) {
  oauth2::Discovery result;
  auto urls = oauth2::discovery_urls(issuer);
  if (urls.empty()) {
    result.error = "the issuer must be an http(s) URL without query or fragment";
    return result;
  }
  std::string errors;
  for (const auto& url : urls) {
    HttpClientRequest req;
    req.url = url;
    req.headers.emplace_back("Accept", "application/json");
    HttpClientResponse r = http.send(req);
    std::string error;
    if (r.address_refused()) {
      error = "refused: " + r.error_detail;
    } else if (r.status == 0) {
      error = "no answer (" + (r.error.empty() ? std::string("unknown") : r.error) + ")";
    } else if (r.status != 200) {
      error = "HTTP " + std::to_string(r.status);
    } else {
      auto d = oauth2::parse_discovery_document(r.body, issuer);
      if (d.ok()) return d;
      error = d.error;
    }
    if (!errors.empty()) errors += "; ";
    errors += redact_url(url) + ": " + error;
  }
  result.error = "discovery for " + redact_url(issuer) + " failed: " + errors;
  return result;
}

Endpoints discover_endpoints(HttpClient& http, const std::string& issuer, std::string& error) {
  auto d = discover(http, issuer);
  error = d.error;
  return d.ok() ? d.endpoints : Endpoints{};
}

OAuth2Platform::OAuth2Platform(HttpClient& http, PlatformSettings settings)
    : http_(http), settings_(settings), id_tokens_(http) {}

std::string OAuth2Platform::check_authorize(const App&, const AuthorizeParams& p) const {
  if (p.include_granted_scopes) return "include_granted_scopes: only Google has incremental authorization";
  for (const auto& v : util::split(p.prompt, " ")) {
    if (v != "none" && v != "login" && v != "consent" && v != "select_account") {
      return "prompt: \"" + v.substr(0, 40) + "\" is not one of none, login, consent, select_account";
    }
  }
  return "";
}

std::optional<oauth2::Discovery> OAuth2Platform::keys_of(const std::string& issuer, std::string& error) {
  {
    std::lock_guard lk(discovered_mu_);
    if (auto it = discovered_.find(issuer); it != discovered_.end()) return it->second;
  }
  auto d = discover(http_, issuer);
  if (!d.ok()) {
    error = d.error;
    return std::nullopt;
  }
  // Kept for the daemon's life: a provider's jwks_uri does not move (its keys do, and the verifier
  // fetches those again on an unknown key id).
  std::lock_guard lk(discovered_mu_);
  return discovered_.insert_or_assign(issuer, d).first->second;
}

bool OAuth2Platform::uses_pkce(const App& app) const { return oauth2::pkce_enabled(app); }

std::string OAuth2Platform::authorize_url(const App& app, const AuthorizeParams& p) const {
  return oauth2::build_authorize_url(app, p, uses_pkce(app));
}

Outcome OAuth2Platform::call(const HttpClientRequest& req, oauth2::Flow flow, const std::vector<std::string>& secrets) {
  if (req.url.empty()) {
    return Outcome::failure(OutcomeKind::app_misconfigured, "no_endpoint",
                            std::string("the app has no ") +
                                (flow == oauth2::Flow::revocation ? "revocation" : "token") + " endpoint");
  }
  HttpClientResponse r = http_.send(req);
  const TimePoint now = SysClock::now();
  return flow == oauth2::Flow::revocation ? oauth2::parse_revoke_response(r, now, secrets)
                                          : oauth2::parse_token_response(r, flow, now, secrets);
}

Outcome OAuth2Platform::exchange_code(const App& app, const std::string& code, const std::string& code_verifier,
                                      const std::string& redirect_uri) {
  const auto req = oauth2::build_code_request(app, code, code_verifier, redirect_uri);
  if (req.url.empty()) return call(req, oauth2::Flow::authorization_code, {});
  HttpClientResponse r = http_.send(req);
  const TimePoint now = SysClock::now();
  Outcome o =
      oauth2::parse_token_response(r, oauth2::Flow::authorization_code, now, {app.client_secret, code, code_verifier});
  if (!o.ok() || app.issuer.empty()) return o;
  auto body = platform_util::parse_object(r.body);
  const std::string id_token = body ? platform_util::string_member(*body, "id_token") : std::string();
  if (id_token.empty()) return o;
  // An OpenID provider found by discovery: its id_token names the account only once it is shown
  // to be the provider's, for this client, and current.
  std::string error;
  auto d = keys_of(app.issuer, error);
  if (!d) return Outcome::failure(OutcomeKind::retry_later, "jwks_unavailable", error);
  if (d->jwks_uri.empty()) return o;
  crypto::JwtExpectations want;
  want.issuers = {d->issuer, app.issuer};
  want.audience = app.client_id;
  want.now = now;
  auto who = id_tokens_.verify(id_token, d->jwks_uri, want);
  if (!who.ok()) return *who.failure;
  o.token.account_id = who.subject;
  return o;
}

CallbackIssuer OAuth2Platform::callback_issuer(const App& app) {
  CallbackIssuer want;
  const auto opt = app.options.is_object() ? app.options.find("callback_iss") : app.options.end();
  if (opt != app.options.end() && opt->is_string()) return {true, opt->get<std::string>(), ""};
  if (opt != app.options.end() && opt->is_boolean() && !opt->get<bool>()) return want;
  if (app.issuer.empty()) return want;
  std::string error;
  auto d = keys_of(app.issuer, error);
  if (!d) {
    want.error = error;
    return want;
  }
  want.issuer = d->issuer;
  want.required = d->iss_parameter_supported || (opt != app.options.end() && opt->is_boolean());
  return want;
}

AppCheck OAuth2Platform::prepare_app(App& app) {
  // The generic dialect's options: {"pkce": false} for a provider that refuses PKCE; callback_iss
  // (RFC 9207): false ignores iss, true requires it (an app with an issuer), a string requires iss
  // to be that issuer (an app registered with endpoints, whose server sends iss without metadata).
  if (auto err = platform_util::unknown_option(app.options, {"pkce", "callback_iss"})) return AppCheck::fail(*err);
  bool pkce = true;
  if (auto err = platform_util::bool_option(app.options, "pkce", pkce)) return AppCheck::fail(*err);
  if (app.options.is_object()) {
    if (auto it = app.options.find("callback_iss"); it != app.options.end() && !it->is_null()) {
      if (it->is_string()) {
        if (it->get<std::string>().empty() || it->get<std::string>().size() > 2048) {
          return AppCheck::fail("options.callback_iss: an issuer is 1..2048 characters");
        }
      } else if (!it->is_boolean()) {
        return AppCheck::fail("options.callback_iss: must be true, false or the issuer the callback's iss must be");
      } else if (it->get<bool>() && app.issuer.empty()) {
        return AppCheck::fail("options.callback_iss: true needs an issuer; give the issuer string instead");
      }
    }
  }
  if (app.client_id.empty()) return AppCheck::fail("client_id: is required");
  if (app.client_secret.empty()) return AppCheck::fail("client_secret: is required");
  if (!app.issuer.empty()) {
    if (!app.endpoints.authorize_url.empty() || !app.endpoints.token_url.empty() ||
        !app.endpoints.revocation_url.empty()) {
      return AppCheck::fail("issuer: give either issuer (discovery) or endpoints, not both");
    }
    std::string error;
    auto eps = discover_endpoints(http_, app.issuer, error);
    if (!error.empty())
      return AppCheck::fail("discovery at " + app.issuer + " failed: " + error, 502, "discovery_failed");
    app.endpoints = eps;
  } else if (app.endpoints.token_url.empty()) {
    return AppCheck::fail("endpoints.token_url: is required (or give issuer)");
  }
  return {};
}

Outcome OAuth2Platform::refresh(const App& app, const Grant& grant) {
  if (grant.refresh_token.empty()) {
    return Outcome::failure(OutcomeKind::needs_reauth, "no_refresh_token",
                            "the grant has no refresh token; connect the account again");
  }
  return call(oauth2::build_refresh_request(app, grant.refresh_token), oauth2::Flow::refresh_token,
              {app.client_secret, grant.refresh_token});
}

Outcome OAuth2Platform::client_token(const App& app, const AppTokenCall& /*call*/) {
  return call(oauth2::build_client_credentials_request(app), oauth2::Flow::client_credentials, {app.client_secret});
}

Outcome OAuth2Platform::revoke(const App& app, const Grant& grant) {
  if (app.endpoints.revocation_url.empty()) {
    Outcome o = Outcome::success({});
    o.code = "not_supported";
    o.message = "the provider has no revocation endpoint";
    return o;
  }
  if (grant.refresh_token.empty()) {
    Outcome o = Outcome::success({});
    o.code = "no_token";
    o.message = "the grant has no refresh token to revoke";
    return o;
  }
  return call(oauth2::build_revoke_request(app, grant.refresh_token), oauth2::Flow::revocation,
              {app.client_secret, grant.refresh_token});
}

}  // namespace mediax
