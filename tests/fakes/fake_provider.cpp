// Protocol endpoints of the fake provider: /authorize, /token, /revoke, /userinfo.
#include "fake_provider.hpp"

#include <cctype>
#include <utility>

namespace mediax::fake {

namespace {

using nlohmann::json;

Reply json_reply(int status, const json& body) {
  Reply r;
  r.status = status;
  r.body = body.dump();
  return r;
}

Reply html_error(const std::string& message) {
  Reply r;
  r.status = 400;
  r.content_type = "text/html; charset=utf-8";
  r.body = "<!doctype html><title>Authorization error</title><p>" + message + "</p>";
  return r;
}

Reply redirect(const std::string& to) {
  Reply r;
  r.status = 302;
  r.content_type = "text/plain";
  r.headers.emplace_back("Location", to);
  return r;
}

std::string with_query(const std::string& uri, const Form& params) {
  std::string out = uri;
  char sep = uri.find('?') == std::string::npos ? '?' : '&';
  for (const auto& [k, v] : params) {
    out += sep;
    out += url_encode(k) + "=" + url_encode(v);
    sep = '&';
  }
  return out;
}

bool form_content_type(const std::string& content_type) {
  return content_type.rfind("application/x-www-form-urlencoded", 0) == 0;
}

bool unreserved_only(const std::string& s) {
  for (unsigned char c : s) {
    if (!(std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~')) return false;
  }
  return true;
}

bool scope_subset(const std::string& requested, const std::string& granted) {
  for (const auto& s : split_scopes(requested)) {
    if (!has_scope(granted, s)) return false;
  }
  return true;
}

}  // namespace

Reply oauth_error(int status, const std::string& error, const std::string& description) {
  Reply r = json_reply(status, json{{"error", error}, {"error_description", description}});
  r.headers.emplace_back("Cache-Control", "no-store");
  if (status == 401) r.headers.emplace_back("WWW-Authenticate", "Basic realm=\"fake-oauth2\"");
  return r;
}

Provider::Provider(Options opts) : opts_(std::move(opts)) {}

void Provider::set_base_url(const std::string& base_url) {
  std::lock_guard lock(mu_);
  base_url_ = base_url;
}

std::string Provider::issuer() const { return base_url_ + opts_.issuer_path; }

Reply Provider::authorize(const Form& query) {
  std::lock_guard lock(mu_);
  bool repeated = false;
  auto client_id = form_value(query, "client_id", &repeated);
  auto redirect_uri = form_value(query, "redirect_uri", &repeated);
  if (repeated) return html_error("a parameter is repeated");
  if (!client_id) return html_error("client_id is missing");
  auto it = clients_.find(*client_id);
  if (it == clients_.end()) return html_error("unknown client_id");
  const Client& client = it->second;
  // §3.1.2.3: with one registered redirect URI it may be omitted; otherwise it must match exactly.
  if (!redirect_uri) {
    if (client.redirect_uris.size() != 1) return html_error("redirect_uri is missing");
    redirect_uri = client.redirect_uris.front();
  }
  bool registered = false;
  for (const auto& u : client.redirect_uris) registered = registered || u == *redirect_uri;
  if (!registered) return html_error("redirect_uri is not registered for this client");

  // From here on errors go back to the client by redirect (§4.1.2.1).
  Form back;
  auto state = form_value(query, "state");
  auto fail = [&](const std::string& error, const std::string& description) {
    Form f{{"error", error}, {"error_description", description}};
    if (state) f.emplace_back("state", *state);
    if (opts_.iss_response) f.emplace_back("iss", issuer());
    return redirect(with_query(*redirect_uri, f));
  };
  if (form_value(query, "fake_decision").value_or("") == "deny") {
    return fail("access_denied", "The resource owner denied the request");
  }
  if (form_value(query, "response_type").value_or("") != "code") {
    return fail("unsupported_response_type", "only response_type=code is supported");
  }
  auto challenge = form_value(query, "code_challenge");
  if (!challenge) return fail("invalid_request", "code_challenge is required (PKCE)");
  if (form_value(query, "code_challenge_method").value_or("plain") != "S256") {
    return fail("invalid_request", "code_challenge_method must be S256");
  }
  if (challenge->size() != 43 || !unreserved_only(*challenge)) {
    return fail("invalid_request", "code_challenge is not a base64url SHA-256");
  }
  Code code;
  code.client_id = client.id;
  code.redirect_uri = *redirect_uri;
  code.scope = form_value(query, "scope").value_or("");
  code.challenge = *challenge;
  code.account = form_value(query, "login_hint").value_or("user-1");
  if (code.account.empty()) code.account = "user-1";
  code.expires = TimeSource::now() + std::chrono::seconds(60);
  std::string value = random_token();
  codes_.emplace(value, code);
  ++stats_.authorizations;
  Form f{{"code", value}};
  if (state) f.emplace_back("state", *state);
  if (opts_.iss_response) f.emplace_back("iss", issuer());
  return redirect(with_query(*redirect_uri, f));
}

const Provider::Client* Provider::authenticate(const FormRequest& req, const Form& form, Reply& error) const {
  auto body_id = form_value(form, "client_id");
  auto body_secret = form_value(form, "client_secret");
  std::string id;
  std::string secret;
  std::string method;
  if (!req.authorization.empty()) {
    auto basic = parse_basic_auth(req.authorization);
    if (!basic) {
      error = oauth_error(401, "invalid_client", "malformed Basic authorization");
      return nullptr;
    }
    if (body_secret) {
      error = oauth_error(400, "invalid_request", "more than one client authentication method");
      return nullptr;
    }
    if (body_id && *body_id != basic->first) {
      error = oauth_error(400, "invalid_request", "client_id differs from the authenticated client");
      return nullptr;
    }
    id = basic->first;
    secret = basic->second;
    method = "client_secret_basic";
  } else if (body_secret) {
    if (!body_id) {
      error = oauth_error(401, "invalid_client", "client_id is missing");
      return nullptr;
    }
    id = *body_id;
    secret = *body_secret;
    method = "client_secret_post";
  } else {
    error = oauth_error(401, "invalid_client", "client authentication is required");
    return nullptr;
  }
  auto it = clients_.find(id);
  if (it == clients_.end() || it->second.secret != secret) {
    error = oauth_error(401, "invalid_client", "client authentication failed");
    return nullptr;
  }
  if (it->second.auth_method != method) {
    error = oauth_error(401, "invalid_client", "this client must authenticate with " + it->second.auth_method);
    return nullptr;
  }
  return &it->second;
}

std::optional<Provider::Failure> Provider::take_failure(const std::string& grant_type) {
  for (auto it = failures_.begin(); it != failures_.end(); ++it) {
    if (!it->grant_type.empty() && it->grant_type != grant_type) continue;
    Failure f = *it;
    if (--it->remaining <= 0) failures_.erase(it);
    ++stats_.failures_injected;
    return f;
  }
  return std::nullopt;
}

Reply Provider::token(const FormRequest& req) {
  std::unique_lock lock(mu_);
  ++stats_.token_requests;
  if (stats_.token_request_ms.size() < 100000) {
    stats_.token_request_ms.push_back(
        std::chrono::duration_cast<std::chrono::milliseconds>(TimeSource::now() - started_).count());
  }
  auto finish = [&](Reply r) {
    if (r.status != 200) ++stats_.token_errors;
    return r;
  };
  if (!form_content_type(req.content_type)) {
    return finish(oauth_error(400, "invalid_request", "Content-Type must be application/x-www-form-urlencoded"));
  }
  auto form = parse_form(req.body);
  if (!form) return finish(oauth_error(400, "invalid_request", "malformed form body"));
  for (const auto& [k, v] : *form) {
    bool repeated = false;
    form_value(*form, k, &repeated);
    if (repeated) return finish(oauth_error(400, "invalid_request", "parameter " + k + " is repeated"));
  }
  std::string grant_type = form_value(*form, "grant_type").value_or("");

  if (auto failure = take_failure(grant_type)) {
    ++stats_.token_errors;
    Reply r;
    if (failure->mode == "500") {
      r.status = 500;
      r.content_type = "text/html";
      r.body = "<html><body>Internal Server Error</body></html>";
    } else if (failure->mode == "429") {
      r = oauth_error(429, "slow_down", "too many requests");
      r.headers.emplace_back("Retry-After", std::to_string(failure->retry_after));
    } else if (failure->mode == "invalid_grant") {
      r = oauth_error(400, "invalid_grant", "the grant was revoked by the resource owner");
    } else if (failure->mode == "invalid_client") {
      r = oauth_error(401, "invalid_client", "client authentication failed");
    } else if (failure->mode == "garbage") {
      r.status = 200;
      r.body = "<<this is not json>>";
    } else if (failure->mode == "trickle") {
      r = oauth_error(503, "temporarily_unavailable", "the server answers one byte per second");
      r.transport = "trickle";
    } else if (failure->mode == "close") {
      r.transport = "close";
    } else {  // hang
      r = oauth_error(503, "temporarily_unavailable", "the server hung");
      r.delay_seconds = failure->seconds;
    }
    return r;
  }

  Reply error;
  if (opts_.bulk) return finish(bulk_token(*form, grant_type));
  const Client* client = authenticate(req, *form, error);
  if (client == nullptr) return finish(error);
  if (grant_type.empty()) return finish(oauth_error(400, "invalid_request", "grant_type is missing"));
  if (grant_type == "authorization_code") return finish(grant_code(*client, *form));
  if (grant_type == "refresh_token") return finish(grant_refresh(*client, *form));
  if (grant_type == "client_credentials") return finish(grant_client_credentials(*client, *form));
  return finish(oauth_error(400, "unsupported_grant_type", "grant_type " + grant_type + " is not supported"));
}

nlohmann::json Provider::issue_access(const std::string& client_id, const std::string& account, std::int64_t grant_id,
                                      const std::string& scope) {
  Access a{client_id, account, grant_id, scope, TimeSource::now() + std::chrono::seconds(opts_.expires_in), false};
  std::string value = random_token();
  access_.emplace(value, a);
  json out{{"access_token", value}, {"token_type", "Bearer"}, {"expires_in", opts_.expires_in}};
  if (!scope.empty()) out["scope"] = scope;
  return out;
}

std::string Provider::id_token(const Client& c, const std::string& account) const {
  auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch());
  // RS256 with the key published at jwks_uri (OpenID Connect Core §3.1.3.7); an hour, as providers do.
  json claims{{"iss", issuer()}, {"sub", account}, {"aud", c.id}, {"iat", now.count()}, {"exp", now.count() + 3600}};
  return signer_.sign_jwt(claims);
}

Reply Provider::jwks() const { return json_reply(200, signer_.jwks()); }

Reply Provider::grant_code(const Client& c, const Form& form) {
  auto code_value = form_value(form, "code");
  auto redirect_uri = form_value(form, "redirect_uri");
  auto verifier = form_value(form, "code_verifier");
  if (!code_value) return oauth_error(400, "invalid_request", "code is missing");
  auto it = codes_.find(*code_value);
  if (it == codes_.end()) return oauth_error(400, "invalid_grant", "unknown authorization code");
  Code& code = it->second;
  if (code.used) {
    // §4.1.2: a code used twice revokes what was issued from it.
    for (auto& [k, r] : refresh_) {
      if (r.grant_id == code.grant_id) r.alive = false;
    }
    for (auto& [k, a] : access_) {
      if (a.grant_id == code.grant_id) a.revoked = true;
    }
    return oauth_error(400, "invalid_grant", "authorization code already used");
  }
  if (TimeSource::now() > code.expires) return oauth_error(400, "invalid_grant", "authorization code expired");
  if (code.client_id != c.id) return oauth_error(400, "invalid_grant", "code was issued to another client");
  if (!redirect_uri || *redirect_uri != code.redirect_uri) {
    return oauth_error(400, "invalid_grant", "redirect_uri does not match the authorization request");
  }
  if (!verifier) return oauth_error(400, "invalid_grant", "code_verifier is missing");
  if (verifier->size() < 43 || verifier->size() > 128 || !unreserved_only(*verifier)) {
    return oauth_error(400, "invalid_grant", "code_verifier is malformed");
  }
  if (pkce_s256(*verifier) != code.challenge) return oauth_error(400, "invalid_grant", "PKCE verification failed");

  code.used = true;
  code.grant_id = next_grant_id_++;
  ++stats_.codes_exchanged;
  json out = issue_access(c.id, code.account, code.grant_id, code.scope);
  std::string refresh_value = random_token();
  refresh_.emplace(refresh_value, Refresh{c.id, code.account, code.grant_id, code.scope, true});
  out["refresh_token"] = refresh_value;
  if (has_scope(code.scope, "openid")) out["id_token"] = id_token(c, code.account);
  Reply r = json_reply(200, out);
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

Reply Provider::bulk_token(const Form& form, const std::string& grant_type) {
  if (!form_value(form, "client_id") || form_value(form, "client_secret").value_or("").empty()) {
    return oauth_error(401, "invalid_client", "client authentication is required");
  }
  if (grant_type == "refresh_token") {
    if (form_value(form, "refresh_token").value_or("").empty()) {
      return oauth_error(400, "invalid_request", "refresh_token is missing");
    }
    ++stats_.refreshes;
  } else if (grant_type == "client_credentials") {
    ++stats_.client_credentials_issued;
  } else {
    return oauth_error(400, "unsupported_grant_type", "bulk mode answers refresh_token and client_credentials only");
  }
  json out{{"access_token", random_token()}, {"token_type", "Bearer"}, {"expires_in", opts_.expires_in}};
  Reply r = json_reply(200, out);
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

Reply Provider::grant_refresh(const Client& c, const Form& form) {
  auto value = form_value(form, "refresh_token");
  if (!value) return oauth_error(400, "invalid_request", "refresh_token is missing");
  auto it = refresh_.find(*value);
  if (it == refresh_.end()) return oauth_error(400, "invalid_grant", "unknown refresh token");
  Refresh& old = it->second;
  if (old.client_id != c.id) return oauth_error(400, "invalid_grant", "refresh token was issued to another client");
  if (!old.alive) {
    ++stats_.dead_refresh_token_uses;
    return oauth_error(400, "invalid_grant", "refresh token is no longer valid");
  }
  std::string scope = old.scope;
  if (auto requested = form_value(form, "scope")) {
    if (!scope_subset(*requested, old.scope)) return oauth_error(400, "invalid_scope", "scope exceeds the grant");
    scope = *requested;
  }
  ++stats_.refreshes;
  ++stats_.refreshes_by_account[old.account];
  ++stats_.refreshes_by_grant[std::to_string(old.grant_id)];
  {
    const auto now = TimeSource::now();
    auto [last, first] = stats_.last_refresh_of_grant.try_emplace(old.grant_id, now);
    if (!first) {
      const auto gap = std::chrono::duration_cast<std::chrono::milliseconds>(now - last->second).count();
      if (stats_.min_refresh_gap_ms < 0 || gap < stats_.min_refresh_gap_ms) stats_.min_refresh_gap_ms = gap;
      if (gap * 4 < opts_.expires_in * 1000) ++stats_.quick_refreshes;
      last->second = now;
    }
  }
  json out = issue_access(c.id, old.account, old.grant_id, scope);
  if (opts_.rotate_refresh) {
    // Rotation: the old refresh token dies at once.
    old.alive = false;
    std::string next = random_token();
    Refresh fresh{c.id, old.account, old.grant_id, old.scope, true};
    refresh_.emplace(next, fresh);
    out["refresh_token"] = next;
  }
  if (has_scope(scope, "openid")) out["id_token"] = id_token(c, it->second.account);
  Reply r = json_reply(200, out);
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

Reply Provider::grant_client_credentials(const Client& c, const Form& form) {
  ++stats_.client_credentials_issued;
  json out = issue_access(c.id, "", 0, form_value(form, "scope").value_or(""));
  Reply r = json_reply(200, out);
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

Reply Provider::revoke(const FormRequest& req) {
  std::lock_guard lock(mu_);
  if (!form_content_type(req.content_type)) {
    return oauth_error(400, "invalid_request", "Content-Type must be application/x-www-form-urlencoded");
  }
  auto form = parse_form(req.body);
  if (!form) return oauth_error(400, "invalid_request", "malformed form body");
  Reply error;
  const Client* client = authenticate(req, *form, error);
  if (client == nullptr) return error;
  auto token = form_value(*form, "token");
  if (!token) return oauth_error(400, "invalid_request", "token is missing");
  ++stats_.revocation_requests;
  Reply ok;
  ok.body = "";
  if (auto it = refresh_.find(*token); it != refresh_.end()) {
    if (it->second.client_id != client->id) {
      return oauth_error(400, "unauthorized_client", "token was issued to another client");
    }
    // RFC 7009 §2.1: revoking a refresh token ends the whole grant.
    std::int64_t grant = it->second.grant_id;
    bool was_alive = it->second.alive;
    for (auto& [k, r] : refresh_) {
      if (r.grant_id == grant) r.alive = false;
    }
    for (auto& [k, a] : access_) {
      if (a.grant_id == grant) a.revoked = true;
    }
    if (was_alive) ++stats_.revocations;
    return ok;
  }
  if (auto it = access_.find(*token); it != access_.end()) {
    if (it->second.client_id != client->id) {
      return oauth_error(400, "unauthorized_client", "token was issued to another client");
    }
    if (!it->second.revoked && TimeSource::now() < it->second.expires) ++stats_.revocations;
    it->second.revoked = true;
  }
  return ok;  // §2.2: unknown tokens are not an error
}

Reply Provider::resource(const std::string& authorization) {
  std::lock_guard lock(mu_);
  static const std::string kBearer = "Bearer ";
  Reply unauthorized = json_reply(401, json{{"error", "invalid_token"}});
  unauthorized.headers.emplace_back("WWW-Authenticate", "Bearer error=\"invalid_token\"");
  if (authorization.rfind(kBearer, 0) != 0) return unauthorized;
  auto it = access_.find(authorization.substr(kBearer.size()));
  if (it == access_.end() || it->second.revoked || TimeSource::now() >= it->second.expires) return unauthorized;
  json out{{"client_id", it->second.client_id}};
  if (!it->second.account.empty()) out["sub"] = it->second.account;
  return json_reply(200, out);
}

}  // namespace mediax::fake
