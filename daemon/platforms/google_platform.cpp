#include "platforms/google_platform.hpp"

#include <algorithm>

#include "crypto/jwt.hpp"
#include "platforms/granted_scopes.hpp"
#include "platforms/platform_util.hpp"
#include "util/strings.hpp"
#include "util/url.hpp"

namespace mediax {

namespace google {

namespace {

using nlohmann::json;

std::string url_or(const std::map<std::string, std::string>& m, const char* key, const std::string& fallback) {
  auto it = m.find(key);
  return it == m.end() || it->second.empty() ? fallback : it->second;
}

// The app as the generic builders see it: Google's endpoints from the config.
App with_endpoints(const App& app, const Urls& urls) {
  App a = app;
  a.endpoints.authorize_url = urls.auth_url;
  a.endpoints.token_url = urls.token_url;
  a.endpoints.revocation_url = urls.revoke_url;
  return a;
}

bool has_endpoints(const App& app) {
  return !app.endpoints.authorize_url.empty() || !app.endpoints.token_url.empty() ||
         !app.endpoints.revocation_url.empty();
}

}  // namespace

Urls urls_from(const PlatformSettings& settings) {
  Urls u;
  auto p = settings.urls.find("google");
  if (p == settings.urls.end()) return u;
  u.auth_url = url_or(p->second, "auth_url", u.auth_url);
  u.token_url = url_or(p->second, "token_url", u.token_url);
  u.revoke_url = url_or(p->second, "revoke_url", u.revoke_url);
  u.jwks_url = url_or(p->second, "jwks_url", u.jwks_url);
  u.issuer = url_or(p->second, "issuer", u.issuer);
  return u;
}

std::vector<std::string> accepted_issuers(const Urls& urls) {
  std::vector<std::string> out{urls.issuer};
  if (urls.issuer == kDefaultIssuer) out.emplace_back("accounts.google.com");
  return out;
}

crypto::JwtExpectations id_token_expectations(const Urls& urls, const App& app, TimePoint now) {
  crypto::JwtExpectations want;
  want.issuers = accepted_issuers(urls);
  want.audience = app.client_id;
  want.now = now;
  return want;
}

std::optional<std::string> effective_prompt(const std::string& prompt, std::string& why) {
  bool select_account = false;
  for (const auto& v : util::split(prompt, " ")) {
    if (v == "select_account") {
      select_account = true;
    } else if (v == "none") {
      why = "prompt: \"none\" shows no consent screen, so Google would issue no refresh token";
      return std::nullopt;
    } else if (v != "consent") {
      why = "prompt: \"" + v.substr(0, 40) + "\" is not one of select_account, consent";
      return std::nullopt;
    }
  }
  // consent always: Google issues a refresh token only from a consent screen, and an account
  // connected again needs a new one (its grant is replaced).
  return select_account ? std::string("select_account consent") : std::string("consent");
}

std::vector<std::string> with_openid(std::vector<std::string> scopes) {
  scopes.erase(std::remove(scopes.begin(), scopes.end(), "openid"), scopes.end());
  scopes.insert(scopes.begin(), "openid");
  return scopes;
}

std::optional<std::string> parse_service_account_key(const json& key, ServiceAccountKey& out) {
  out = ServiceAccountKey{};
  if (!key.is_object()) return "service_account: must be the key file's JSON object";
  if (platform_util::string_member(key, "type") != "service_account") {
    return "service_account.type: must be \"service_account\" (a service-account key file)";
  }
  out.client_email = platform_util::string_member(key, "client_email");
  if (out.client_email.empty() || out.client_email.find('@') == std::string::npos) {
    return "service_account.client_email: must be the service account's email address";
  }
  out.private_key = platform_util::string_member(key, "private_key");
  if (out.private_key.empty()) return "service_account.private_key: is required (a PEM RSA private key)";
  if (auto why = crypto::check_rsa_private_key(out.private_key); !why.empty()) {
    return "service_account.private_key: " + why;
  }
  if (key.contains("private_key_id") && !key["private_key_id"].is_string()) {
    return "service_account.private_key_id: must be a string";
  }
  out.private_key_id = platform_util::string_member(key, "private_key_id");
  out.token_uri = platform_util::string_member(key, "token_uri");
  return std::nullopt;
}

std::optional<std::string> parse_options(const json& options, Options& out) {
  out = Options{};
  if (auto e = platform_util::unknown_option(
          options, {"include_granted_scopes", "service_account", "subject", "required_scopes", "prompt", "login_hint"}))
    return e;
  if (auto e = platform_util::bool_option(options, "include_granted_scopes", out.include_granted_scopes)) return e;
  if (!options.is_object()) return std::nullopt;
  for (auto [key, target] : {std::pair{"prompt", &out.prompt}, std::pair{"login_hint", &out.login_hint}}) {
    auto it = options.find(key);
    if (it == options.end() || it->is_null()) continue;
    if (!it->is_string()) return std::string("options.") + key + ": must be a string";
    *target = it->get<std::string>();
  }
  if (!out.prompt.empty()) {
    std::string why;
    if (!effective_prompt(out.prompt, why)) return "options." + why;
  }
  if (auto it = options.find("service_account"); it != options.end() && !it->is_null()) {
    if (!it->is_object()) return "options.service_account: must be the key file's JSON object";
    out.service_account = true;
  }
  if (auto it = options.find("subject"); it != options.end() && !it->is_null()) {
    if (!it->is_string() || it->get<std::string>().find('@') == std::string::npos) {
      return "options.subject: must be the email address of the user to impersonate";
    }
    out.subject = it->get<std::string>();
    if (!out.service_account) return "options.subject: only with options.service_account";
  }
  return std::nullopt;
}

AppCheck prepare(App& app) {
  if (!app.issuer.empty()) return AppCheck::fail("issuer: not used by google");
  if (has_endpoints(app)) {
    return AppCheck::fail(
        "endpoints: not used by google; set auth_url, token_url and revoke_url in [platforms.google]");
  }
  if (app.options.is_null()) app.options = json::object();
  Options o;
  if (auto e = parse_options(app.options, o)) return AppCheck::fail(*e);
  if (!o.service_account) {
    if (app.client_credentials) {
      return AppCheck::fail(
          "client_credentials: Google's client credentials are a service account: give its key in "
          "options.service_account");
    }
    if (app.client_id.empty()) return AppCheck::fail("client_id: is required (the OAuth client id)");
    if (app.client_secret.empty()) return AppCheck::fail("client_secret: is required (the OAuth client secret)");
    if (app.scopes.empty()) return AppCheck::fail("scopes: Google needs at least one scope (e.g. openid, email)");
    // Every connection asks for openid: the id_token's sub is the account's stable id.
    app.scopes = with_openid(app.scopes);
    if (auto e = granted_scopes::check_required_option(app)) return AppCheck::fail(*e);
    return {};
  }
  if (!app.client_secret.empty()) {
    return AppCheck::fail("client_secret: leave it out with options.service_account: the key is the secret");
  }
  ServiceAccountKey key;
  if (auto e = parse_service_account_key(app.options["service_account"], key)) return AppCheck::fail("options." + *e);
  if (app.scopes.empty()) return AppCheck::fail("scopes: a service account needs at least one scope");
  for (const char* option : {"include_granted_scopes", "required_scopes", "prompt", "login_hint"}) {
    if (app.options.contains(option))
      return AppCheck::fail(std::string("options.") + option + ": not used with a service account");
  }
  // The key file is a secret: it is stored as the client secret (sealed, never shown). Only what
  // identifies the key stays visible in the options.
  app.client_secret = app.options["service_account"].dump();
  json visible{{"client_email", key.client_email}, {"private_key_id", key.private_key_id}};
  if (!key.token_uri.empty()) visible["token_uri"] = key.token_uri;
  app.options["service_account"] = visible;
  if (app.client_id.empty()) app.client_id = key.client_email;
  // A key has no other use than client credentials.
  app.client_credentials = true;
  return {};
}

std::string build_authorize_url(const Urls& urls, const App& app, const AuthorizeParams& p, const Options& o) {
  // The generic builder writes the standard part; prompt and login_hint are Google's to decide.
  AuthorizeParams q = p;
  q.scopes = with_openid(p.scopes.empty() ? app.scopes : p.scopes);
  q.prompt.clear();
  q.login_hint.clear();
  std::string url = oauth2::build_authorize_url(with_endpoints(app, urls), q, /*pkce=*/true);
  std::string why;
  // offline: the code exchange returns a refresh token; consent (always in the prompt): it does so
  // on every connection, not only on the first one (an account connected again needs one too).
  platform_util::Form extra{
      {"access_type", "offline"},
      {"prompt", effective_prompt(p.prompt.empty() ? o.prompt : p.prompt, why).value_or("consent")}};
  if (o.include_granted_scopes || p.include_granted_scopes) extra.emplace_back("include_granted_scopes", "true");
  const std::string& hint = p.login_hint.empty() ? o.login_hint : p.login_hint;
  if (!hint.empty()) extra.emplace_back("login_hint", hint);
  return platform_util::append_query(url, extra);
}

ClientRequest build_code_request(const Urls& urls, const App& app, const std::string& code,
                                 const std::string& code_verifier, const std::string& redirect_uri) {
  return oauth2::build_code_request(with_endpoints(app, urls), code, code_verifier, redirect_uri);
}

ClientRequest build_refresh_request(const Urls& urls, const App& app, const std::string& refresh_token) {
  return oauth2::build_refresh_request(with_endpoints(app, urls), refresh_token);
}

ClientRequest build_revoke_request(const Urls& urls, const std::string& token) {
  ClientRequest req;
  req.method = "POST";
  req.url = urls.revoke_url;
  req.content_type = "application/x-www-form-urlencoded";
  req.headers.emplace_back("Accept", "application/json");
  req.body = form_encode({{"token", token}});
  return req;
}

json assertion_header(const ServiceAccountKey& key) {
  json h{{"alg", "RS256"}, {"typ", "JWT"}};
  if (!key.private_key_id.empty()) h["kid"] = key.private_key_id;
  return h;
}

json assertion_claims(const ServiceAccountKey& key, const std::vector<std::string>& scopes, const std::string& audience,
                      const std::string& subject, TimePoint now) {
  const std::int64_t iat = to_unix(now) - kClockSkew;
  json c{{"iss", key.client_email},
         {"scope", platform_util::join(scopes, " ")},
         {"aud", audience},
         {"iat", iat},
         {"exp", iat + kAssertionLifetime}};
  if (!subject.empty()) c["sub"] = subject;
  return c;
}

ClientRequest build_jwt_bearer_request(const std::string& token_url, const std::string& assertion) {
  ClientRequest req;
  req.method = "POST";
  req.url = token_url;
  req.content_type = "application/x-www-form-urlencoded";
  req.headers.emplace_back("Accept", "application/json");
  req.body = form_encode({{"grant_type", kJwtBearerGrant}, {"assertion", assertion}});
  return req;
}

Outcome parse_token_response(const ClientResponse& r, oauth2::Flow flow, TimePoint now,
                             const std::vector<std::string>& secrets) {
  Outcome o = oauth2::parse_token_response(r, flow, now, secrets);
  if (o.ok() || platform_util::classify_http_status(o.http_status) == platform_util::HttpStatusClass::server_trouble) {
    return o;  // 5xx and 408: retry, whatever code the body carries
  }
  const std::string& code = o.code;
  if (code == "deleted_client" || code == "disabled_client" || code == "org_internal" ||
      code == "redirect_uri_mismatch") {
    o.kind = OutcomeKind::app_misconfigured;
  } else if (code == "admin_policy_enforced") {
    // A Workspace administrator restricted the scopes for this user: nothing the daemon can retry.
    o.kind = OutcomeKind::needs_reauth;
  } else if (code == "internal_failure") {
    o.kind = OutcomeKind::retry_later;
  }
  if (flow == oauth2::Flow::client_credentials && (o.kind == OutcomeKind::needs_reauth || code == "invalid_grant")) {
    // There is no user behind a service account: a refused assertion is the key's, scope's or
    // subject's fault (signature, deleted key, delegation not set up).
    o.kind = OutcomeKind::app_misconfigured;
  }
  return o;
}

}  // namespace google

GooglePlatform::GooglePlatform(HttpClient& http, PlatformSettings settings)
    : http_(http), settings_(std::move(settings)), urls_(google::urls_from(settings_)), id_tokens_(http) {}

AppCheck GooglePlatform::prepare_app(App& app) { return google::prepare(app); }

std::string GooglePlatform::authorize_url(const App& app, const AuthorizeParams& p) const {
  google::Options o;
  if (google::parse_options(app.options, o) || o.service_account) return "";
  return google::build_authorize_url(urls_, app, p, o);
}

std::string GooglePlatform::check_authorize(const App& app, const AuthorizeParams& p) const {
  google::Options o;
  if (auto e = google::parse_options(app.options, o)) return *e;
  if (o.service_account) return p.has_choices() ? "a service-account app connects no accounts" : "";
  std::string why;
  if (!p.prompt.empty() && !google::effective_prompt(p.prompt, why)) return why;
  return "";
}

Outcome GooglePlatform::call(const ClientRequest& req, oauth2::Flow flow, const std::vector<std::string>& secrets) {
  ClientResponse r = http_.send(req);
  const TimePoint now = SysClock::now();
  return flow == oauth2::Flow::revocation ? oauth2::parse_revoke_response(r, now, secrets)
                                          : google::parse_token_response(r, flow, now, secrets);
}

Outcome GooglePlatform::exchange_code(const App& app, const std::string& code, const std::string& code_verifier,
                                      const std::string& redirect_uri) {
  const std::vector<std::string> secrets{app.client_secret, code, code_verifier};
  ClientResponse r = http_.send(google::build_code_request(urls_, app, code, code_verifier, redirect_uri));
  const TimePoint now = SysClock::now();
  Outcome o = google::parse_token_response(r, oauth2::Flow::authorization_code, now, secrets);
  if (!o.ok()) return o;
  // The account is whoever the id_token says, once it has been shown to come from Google for this
  // client: a grant's account_id is what a second connection of the same account is matched by.
  auto body = platform_util::parse_object(r.body);
  const std::string id_token = body ? platform_util::string_member(*body, "id_token") : std::string();
  if (id_token.empty()) {
    return Outcome::failure(OutcomeKind::app_misconfigured, "no_id_token",
                            "Google's answer has no id_token although openid was asked for", r.status);
  }
  auto who = id_tokens_.verify(id_token, urls_.jwks_url, google::id_token_expectations(urls_, app, now));
  if (!who.ok()) return *who.failure;
  o.token.account_id = who.subject;
  granted_scopes::record_missing(app, o.token);
  return o;
}

Outcome GooglePlatform::refresh(const App& app, const Grant& grant) {
  if (grant.refresh_token.empty()) {
    return Outcome::failure(OutcomeKind::needs_reauth, "no_refresh_token",
                            "the grant has no refresh token; connect the account again");
  }
  // Google does not rotate refresh tokens: an answer without one keeps the stored one.
  Outcome o = call(google::build_refresh_request(urls_, app, grant.refresh_token), oauth2::Flow::refresh_token,
                   {app.client_secret, grant.refresh_token});
  // The account never changes on a refresh (the answer's id_token, if any, is not needed).
  if (o.ok()) o.token.account_id.clear();
  // A refresh answer names the scopes the token carries now (fewer when the user took some back).
  if (o.ok()) granted_scopes::record_missing(app, o.token);
  return o;
}

Outcome GooglePlatform::client_token(const App& app, const AppTokenCall& /*call*/) {
  google::Options o;
  if (auto e = google::parse_options(app.options, o)) {
    return Outcome::failure(OutcomeKind::app_misconfigured, "bad_options", *e);
  }
  if (!o.service_account) {
    return Outcome::failure(OutcomeKind::app_misconfigured, "no_service_account",
                            "Google's client credentials need a service account key (options.service_account)");
  }
  google::ServiceAccountKey key;
  auto stored = platform_util::parse_object(app.client_secret);
  if (!stored) {
    return Outcome::failure(OutcomeKind::app_misconfigured, "bad_service_account",
                            "the stored service account key is not a JSON object; register the app again");
  }
  if (auto e = google::parse_service_account_key(*stored, key)) {
    return Outcome::failure(OutcomeKind::app_misconfigured, "bad_service_account", "the stored key: " + *e);
  }
  // aud is the URL the assertion is posted to (the key's token_uri names the same endpoint for real keys).
  auto signed_jwt = crypto::sign_jwt_rs256(
      google::assertion_header(key).dump(),
      google::assertion_claims(key, app.scopes, urls_.token_url, o.subject, SysClock::now()).dump(), key.private_key);
  if (!signed_jwt.ok()) {
    return Outcome::failure(OutcomeKind::app_misconfigured, "signing_failed",
                            "could not sign the service account assertion: " + signed_jwt.error);
  }
  return call(google::build_jwt_bearer_request(urls_.token_url, signed_jwt.token), oauth2::Flow::client_credentials,
              {app.client_secret, key.private_key, signed_jwt.token});
}

Outcome GooglePlatform::revoke(const App& app, const Grant& grant) {
  if (grant.refresh_token.empty()) {
    Outcome o = Outcome::success({});
    o.code = "no_token";
    o.message = "the grant has no refresh token to revoke";
    return o;
  }
  // Revoking the refresh token ends the grant at Google, access tokens included.
  return call(google::build_revoke_request(urls_, grant.refresh_token), oauth2::Flow::revocation,
              {app.client_secret, grant.refresh_token});
}

}  // namespace mediax
