// The fake Google OAuth 2.0 server (platforms.md §Google):
//  - GET  /o/oauth2/v2/auth   client_id, redirect_uri, response_type=code, scope (space-separated), state,
//         PKCE S256 required; a refresh token is issued only with access_type=offline, and only on the first
//         consent of an account unless prompt=consent
//  - POST /token              form: authorization_code (+ code_verifier), refresh_token (the answer has no
//         refresh_token), urn:ietf:params:oauth:grant-type:jwt-bearer (the assertion is checked: RS256 with
//         the registered public key, kid, iss, aud = this server's /token, iat/exp at most an hour apart and
//         current, scope, sub only where delegation is allowed)
//  - POST /revoke             token in the form body or the query; 200, or 400 invalid_token
//  - GET  /oauth2/v3/certs    the JWK Set of the keys that sign id_tokens (Cache-Control max-age, as Google)
//  - GET  /.well-known/openid-configuration
// Errors are RFC 6749 JSON with HTTP 400 (401 for invalid_client).
//
// As Google (platforms-detail.md §3, §7):
//  - every account has a stable `sub` (21 digits); login_hint names the account by login name, email or sub;
//  - with `openid` the code exchange (and a refresh) answers with an id_token signed RS256 by the current key
//    (iss = this server's base URL, aud = azp = client id, exp = iat + 3600);
//  - granular consent: the user may untick scopes (not openid, email, profile); the answer's `scope` is what
//    was granted, and email/profile are named by their URL forms; include_granted_scopes=true adds the scopes
//    granted to this client and account before; a refresh answers with its refresh token's scope;
//  - --refresh-expires-in S makes refresh tokens die after S seconds (Testing mode: 7 days).
//
// Control: POST /_fake/clients {"client_id","client_secret","redirect_uris":[...]}
//          POST /_fake/service_accounts {"client_email","private_key_id","public_key_pem","allow_subject":true}
//          POST /_fake/fail {"endpoint":"token|revoke|any","error":"invalid_grant","description":"...",
//                            "status":400,"count":1}
//          POST /_fake/accounts {"login":"alice"} -> {"sub":"...","email":"..."} (created when new)
//          POST /_fake/consent {"untick":["scope",...],"count":1}: the next authorizations grant less
//          POST /_fake/id_token {"forge":"signature|audience|issuer|expired|alg_none|hs256|unknown_kid","count":1}
//          POST /_fake/rotate_key {}: a new signing key; the set serves the new and the previous one
//          POST /_fake/revoke_scope {"login":"alice","scope":"..."}: the user takes a scope back (refreshes
//          then answer without it)
// Stats: authorizations, codes_exchanged, refreshes, refreshes_by_account, jwt_grants, jwt_rejections,
// jwt_rejected_for, last_assertion_claims, last_authorize, revocations, token_errors, jwks_fetches,
// id_tokens_issued.
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>

#include <algorithm>
#include <random>
#include <set>

#include "crypto/crypto.hpp"
#include "fake_platform.hpp"
#include "net/http_client.hpp"
#include "util/url.hpp"

namespace mediax::fakep {

namespace {

constexpr std::int64_t kAccessLifetime = 3599;
constexpr const char* kJwtBearer = "urn:ietf:params:oauth:grant-type:jwt-bearer";

// RS256 check written against OpenSSL directly: the fake must not trust the daemon's own code.
bool verify_rs256(const std::string& signing_input, const std::string& signature, const std::string& public_pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(public_pem.data(), static_cast<int>(public_pem.size())),
                                                BIO_free);
  if (!bio) return false;
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr),
                                                          EVP_PKEY_free);
  if (!key) return false;
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  EVP_PKEY_CTX* pctx = nullptr;
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), &pctx, EVP_sha256(), nullptr, key.get()) != 1) return false;
  if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1) return false;
  return EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                          reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size()) == 1;
}

struct PkeyDeleter {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyDeleter>;

// RS256 signing written against OpenSSL directly, like verify_rs256.
std::string sign_rs256(const std::string& signing_input, EVP_PKEY* key) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  std::size_t len = 0;
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(signing_input.data()),
                     signing_input.size()) != 1) {
    return "";
  }
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                     reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size()) != 1) {
    return "";
  }
  sig.resize(len);
  return sig;
}

std::string bn_param(EVP_PKEY* key, const char* name) {
  BIGNUM* bn = nullptr;
  if (EVP_PKEY_get_bn_param(key, name, &bn) != 1) return "";
  std::string out(static_cast<std::size_t>(BN_num_bytes(bn)), '\0');
  BN_bn2bin(bn, reinterpret_cast<unsigned char*>(out.data()));
  BN_free(bn);
  return crypto::base64url_encode(out);
}

// Google names these two sign-in scopes by URL in its answers.
std::string answer_name(const std::string& scope) {
  if (scope == "email") return "https://www.googleapis.com/auth/userinfo.email";
  if (scope == "profile") return "https://www.googleapis.com/auth/userinfo.profile";
  return scope;
}

// Granular consent never lets the user untick the sign-in scopes.
bool untickable(const std::string& scope) {
  const std::string a = answer_name(scope);
  return a != "openid" && a != answer_name("email") && a != answer_name("profile");
}

std::vector<std::string> scope_list(const std::string& scope) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < scope.size()) {
    auto b = scope.find_first_not_of(' ', i);
    if (b == std::string::npos) break;
    auto e = scope.find(' ', b);
    if (e == std::string::npos) e = scope.size();
    out.push_back(scope.substr(b, e - b));
    i = e;
  }
  return out;
}

std::string join_scopes(const std::vector<std::string>& scopes) {
  std::string out;
  for (const auto& s : scopes) out += (out.empty() ? "" : " ") + s;
  return out;
}

bool has_scope(const std::string& scope, const std::string& wanted) {
  std::size_t i = 0;
  while (i < scope.size()) {
    auto b = scope.find_first_not_of(' ', i);
    if (b == std::string::npos) break;
    auto e = scope.find(' ', b);
    if (e == std::string::npos) e = scope.size();
    if (scope.compare(b, e - b, wanted) == 0) return true;
    i = e;
  }
  return false;
}

class GoogleFake : public FakePlatform {
 public:
  explicit GoogleFake(Options o) : FakePlatform(std::move(o)) {
    if (opts_.expires_in <= 0) opts_.expires_in = kAccessLifetime;
    if (opts_.client_expires_in <= 0) opts_.client_expires_in = opts_.expires_in;
    rotate_key();
  }

 protected:
  Reply protocol(const Request& req) override {
    if (req.method == "GET" && req.path == "/o/oauth2/v2/auth") return authorize(req);
    if (req.method == "GET" && req.path == "/oauth2/v3/certs") return jwks();
    if (req.method == "GET" && req.path == "/.well-known/openid-configuration") {
      return json_reply(200, json{{"issuer", base_url_},
                                  {"authorization_endpoint", base_url_ + "/o/oauth2/v2/auth"},
                                  {"token_endpoint", base_url_ + "/token"},
                                  {"revocation_endpoint", base_url_ + "/revoke"},
                                  {"jwks_uri", base_url_ + "/oauth2/v3/certs"},
                                  {"id_token_signing_alg_values_supported", {"RS256"}}});
    }
    if (req.method == "POST" && req.path == "/token") return answer("token", [&] { return token(req); });
    if (req.method == "POST" && req.path == "/revoke") return answer("revoke", [&] { return revoke(req); });
    return not_found();
  }

  Reply control(const Request& req) override {
    json j = json::parse(req.body, nullptr, false);
    if (req.method != "POST" || j.is_discarded() || !j.is_object()) return not_found();
    auto str = [&](const char* k) {
      return j.contains(k) && j[k].is_string() ? j[k].get<std::string>() : std::string();
    };
    if (req.path == "/_fake/clients") {
      Client c;
      c.secret = str("client_secret");
      if (str("client_id").empty() || c.secret.empty()) {
        return json_reply(400, json{{"error", "bad_request"}, {"message", "client_id and client_secret are required"}});
      }
      for (const auto& u : j.value("redirect_uris", json::array())) {
        if (u.is_string()) c.redirect_uris.push_back(u.get<std::string>());
      }
      clients_[str("client_id")] = c;
      remember("client_secrets", c.secret);
      return json_reply(201, json{{"client_id", str("client_id")}});
    }
    if (req.path == "/_fake/accounts") {
      if (str("login").empty())
        return json_reply(400, json{{"error", "bad_request"}, {"message", "login is required"}});
      return json_reply(200, json{{"sub", sub_of(str("login"))}, {"email", str("login") + "@example.com"}});
    }
    if (req.path == "/_fake/consent") {
      untick_.clear();
      for (const auto& u : j.value("untick", json::array())) {
        if (u.is_string()) untick_.insert(answer_name(u.get<std::string>()));
      }
      untick_count_ = j.value("count", 1);
      return json_reply(200, json{{"untick", untick_}, {"count", untick_count_}});
    }
    if (req.path == "/_fake/id_token") {
      forge_ = str("forge");
      forge_count_ = j.value("count", 1);
      return json_reply(200, json{{"forge", forge_}, {"count", forge_count_}});
    }
    if (req.path == "/_fake/rotate_key") {
      rotate_key();
      return json_reply(200, json{{"kid", keys_.back().kid}});
    }
    if (req.path == "/_fake/revoke_scope") {
      const std::string account = account_of(str("login"));
      const std::string scope = answer_name(str("scope"));
      int changed = 0;
      for (auto& [k, r] : refresh_) {
        if (r.account != account) continue;
        auto list = scope_list(r.scope);
        auto before = list.size();
        list.erase(std::remove(list.begin(), list.end(), scope), list.end());
        changed += static_cast<int>(before - list.size());
        r.scope = join_scopes(list);
      }
      for (auto& [k, g] : granted_) {
        if (k.substr(k.find('\n') + 1) == account) g.erase(scope);
      }
      return json_reply(200, json{{"refresh_tokens_changed", changed}});
    }
    if (req.path == "/_fake/service_accounts") {
      ServiceAccount sa;
      sa.private_key_id = str("private_key_id");
      sa.public_pem = str("public_key_pem");
      sa.allow_subject = j.value("allow_subject", true);
      if (str("client_email").empty() || sa.public_pem.empty()) {
        return json_reply(400,
                          json{{"error", "bad_request"}, {"message", "client_email and public_key_pem are required"}});
      }
      accounts_[str("client_email")] = sa;
      return json_reply(201, json{{"client_email", str("client_email")}});
    }
    return not_found();
  }

  json introspect(const std::string& token) const override {
    if (auto it = access_.find(token); it != access_.end()) {
      auto left = seconds_left(it->second.expires);
      return json{{"active", !it->second.revoked && left > 0},
                  {"kind", "access"},
                  {"account", it->second.account},
                  {"scope", it->second.scope},
                  {"expires_in", left > 0 ? left : 0}};
    }
    if (auto it = refresh_.find(token); it != refresh_.end()) {
      return json{{"active", !it->second.revoked}, {"kind", "refresh"}, {"account", it->second.account}};
    }
    return json{{"active", false}, {"kind", "unknown"}};
  }

  std::string check_failure(const json& spec) const override {
    if (!spec.contains("error") && spec.value("status", 400) < 500) return "error or a 5xx status is required";
    return "";
  }

 private:
  struct Client {
    std::string secret;
    std::vector<std::string> redirect_uris;
  };
  struct ServiceAccount {
    std::string private_key_id;
    std::string public_pem;
    bool allow_subject = true;
  };
  struct Code {
    std::string client_id;
    std::string redirect_uri;
    std::string scope;
    std::string challenge;
    std::string account;
    bool offline = false;
    bool issue_refresh = false;
    TimeSource::time_point expires;
    bool used = false;
  };
  struct Access {
    std::string account;  // "" for service-account tokens: the client_email is in `subject`
    std::string scope;
    std::string refresh;  // the refresh token it came from, "" if none
    TimeSource::time_point expires;
    bool revoked = false;
  };
  struct Refresh {
    std::string client_id;
    std::string account;
    std::string scope;
    bool revoked = false;
    TimeSource::time_point created = TimeSource::now();
  };
  struct SigningKey {
    std::string kid;
    std::shared_ptr<EVP_PKEY> key;
  };

  void rotate_key() {
    SigningKey k;
    k.kid = crypto::to_hex(crypto::random_bytes(20));
    k.key = std::shared_ptr<EVP_PKEY>(EVP_RSA_gen(2048), EVP_PKEY_free);
    if (!k.key) throw std::runtime_error("RSA key generation failed");
    keys_.push_back(std::move(k));
    // Google's set holds the current key and the one before it.
    if (keys_.size() > 2) keys_.erase(keys_.begin());
  }

  static json jwk_of(const SigningKey& k) {
    return json{{"kty", "RSA"},
                {"alg", "RS256"},
                {"use", "sig"},
                {"kid", k.kid},
                {"n", bn_param(k.key.get(), OSSL_PKEY_PARAM_RSA_N)},
                {"e", bn_param(k.key.get(), OSSL_PKEY_PARAM_RSA_E)}};
  }

  Reply jwks() {
    count("jwks_fetches");
    json keys = json::array();
    for (const auto& k : keys_) keys.push_back(jwk_of(k));
    Reply r = json_reply(200, json{{"keys", keys}});
    r.headers.emplace_back("Cache-Control", "public, max-age=21600, must-revalidate, no-transform");
    return r;
  }

  // A stable sub per login name, made on first use.
  std::string sub_of(const std::string& login) {
    auto it = subs_.find(login);
    if (it != subs_.end()) return it->second;
    static std::mt19937_64 rng{std::random_device{}()};
    std::string sub = "1";
    for (int i = 0; i < 20; ++i) sub += static_cast<char>('0' + rng() % 10);
    subs_[login] = sub;
    stats_["subs"][login] = sub;
    return sub;
  }

  // The account a login_hint names: a login name, its email or its sub.
  std::string account_of(const std::string& hint) {
    for (const auto& [login, sub] : subs_) {
      if (hint == sub || hint == login + "@example.com") return login;
    }
    const auto at = hint.find('@');
    return at == std::string::npos ? hint : hint.substr(0, at);
  }

  Reply oauth_error(int status, const std::string& error, const std::string& description) {
    count("token_errors");
    count_in("errors_by_code", error);
    Reply r = json_reply(status, json{{"error", error}, {"error_description", description}});
    r.headers.emplace_back("Cache-Control", "no-store");
    return r;
  }

  template <typename F>
  Reply answer(const std::string& endpoint, F&& real) {
    if (auto f = take_failure(endpoint)) {
      int status = f->spec.value("status", 400);
      if (status >= 500) return html_reply(status, "injected failure");
      return oauth_error(status, f->spec.value("error", std::string("invalid_grant")),
                         f->spec.value("description", std::string("injected")));
    }
    return real();
  }

  Reply authorize(const Request& req) {
    auto client_id = req.param("client_id");
    auto it = client_id ? clients_.find(*client_id) : clients_.end();
    if (it == clients_.end()) return html_reply(400, "Error 401: invalid_client");
    auto redirect_uri = req.param("redirect_uri").value_or("");
    auto& uris = it->second.redirect_uris;
    if (std::find(uris.begin(), uris.end(), redirect_uri) == uris.end()) {
      return html_reply(400, "Error 400: redirect_uri_mismatch");
    }
    Form back;
    auto fail = [&](const std::string& e) {
      back.emplace_back("error", e);
      if (auto s = req.param("state")) back.emplace_back("state", *s);
      return redirect(with_query(redirect_uri, back));
    };
    if (req.param("response_type").value_or("") != "code") return fail("unsupported_response_type");
    std::string scope = req.param("scope").value_or("");
    if (scope.empty() || scope.find(',') != std::string::npos) return fail("invalid_scope");
    auto challenge = req.param("code_challenge");
    if (!challenge || req.param("code_challenge_method").value_or("plain") != "S256") return fail("invalid_request");
    if (req.param("fake_decision").value_or("") == "deny") return fail("access_denied");
    const std::string prompt = req.param("prompt").value_or("");
    for (const auto& v : scope_list(prompt)) {
      // Google: none may not be combined with other values.
      if (v != "none" && v != "consent" && v != "select_account") return fail("invalid_request");
      if (v == "none" && prompt != "none") return fail("invalid_request");
    }
    Code c;
    c.client_id = *client_id;
    c.redirect_uri = redirect_uri;
    c.challenge = *challenge;
    c.account = account_of(req.param("login_hint").value_or(random_id("user", 6)));
    sub_of(c.account);
    c.offline = req.param("access_type").value_or("online") == "offline";
    bool consent = has_scope(prompt, "consent");
    // Google sends a refresh token on the first consent only, unless the consent screen is forced.
    std::string key = c.client_id + "\n" + c.account;
    c.issue_refresh = c.offline && (consent || !consented_.count(key));
    consented_.insert(key);
    // Granular consent: what the user left ticked, then (incremental authorization) what this
    // client already had from this account.
    std::vector<std::string> granted;
    for (const auto& sc : scope_list(scope)) {
      const std::string a = answer_name(sc);
      if (untick_count_ > 0 && untickable(a) && untick_.count(a)) continue;
      if (std::find(granted.begin(), granted.end(), a) == granted.end()) granted.push_back(a);
    }
    if (untick_count_ > 0) --untick_count_;
    const bool incremental = req.param("include_granted_scopes").value_or("") == "true";
    if (incremental) {
      for (const auto& a : granted_[key]) {
        if (std::find(granted.begin(), granted.end(), a) == granted.end()) granted.push_back(a);
      }
    }
    for (const auto& a : granted) granted_[key].insert(a);
    c.scope = join_scopes(granted);
    c.expires = TimeSource::now() + std::chrono::minutes(10);
    stats_["last_authorize"] = json{{"access_type", req.param("access_type").value_or("")},
                                    {"prompt", prompt},
                                    {"include_granted_scopes", req.param("include_granted_scopes").value_or("")},
                                    {"login_hint", req.param("login_hint").value_or("")},
                                    {"scope", scope},
                                    {"granted", c.scope}};
    std::string code = random_id("4/0A");
    codes_[code] = c;
    remember("codes", code);
    count("authorizations");
    back.emplace_back("code", code);
    if (auto s = req.param("state")) back.emplace_back("state", *s);
    back.emplace_back("scope", c.scope);
    return redirect(with_query(redirect_uri, back));
  }

  // Client authentication: client_secret_post or client_secret_basic. nullopt when fine.
  std::optional<Reply> authenticate(const Request& req, const Form& form, std::string& client_id) {
    std::string auth = req.header("Authorization");
    std::string secret;
    if (auth.rfind("Basic ", 0) == 0) {
      std::string b64 = auth.substr(6);
      for (auto& ch : b64) {
        if (ch == '+') ch = '-';
        if (ch == '/') ch = '_';
      }
      auto raw = crypto::base64url_decode(b64);
      auto colon = raw ? raw->find(':') : std::string::npos;
      if (colon == std::string::npos) return oauth_error(401, "invalid_client", "Unauthorized");
      client_id = mediax::parse_query("x=" + raw->substr(0, colon)).at(0).second;
      secret = mediax::parse_query("x=" + raw->substr(colon + 1)).at(0).second;
    } else {
      client_id = form_value(form, "client_id").value_or("");
      secret = form_value(form, "client_secret").value_or("");
    }
    auto it = clients_.find(client_id);
    if (it == clients_.end()) return oauth_error(401, "invalid_client", "The OAuth client was not found.");
    if (secret != it->second.secret) return oauth_error(401, "invalid_client", "Unauthorized");
    return std::nullopt;
  }

  std::string issue_access(const std::string& account, const std::string& scope, const std::string& refresh,
                           std::int64_t lifetime) {
    std::string token = random_id("ya29.", 36);
    access_[token] = Access{account, scope, refresh, TimeSource::now() + std::chrono::seconds(lifetime), false};
    remember("access_tokens", token);
    return token;
  }

  std::string id_token(const std::string& client_id, const std::string& account) {
    count("id_tokens_issued");
    std::string forge;
    if (forge_count_ > 0) {
      forge = forge_;
      --forge_count_;
    }
    const SigningKey& k = keys_.back();
    json header{{"alg", "RS256"}, {"kid", forge == "unknown_kid" ? "not-" + k.kid : k.kid}, {"typ", "JWT"}};
    const auto now =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    json claims{{"iss", forge == "issuer" ? "https://accounts.example.net" : base_url_},
                {"azp", client_id},
                {"aud", forge == "audience" ? "someone-else.apps.googleusercontent.com" : client_id},
                {"sub", sub_of(account)},
                {"email", account + "@example.com"},
                {"email_verified", true},
                {"iat", forge == "expired" ? now - 7200 : now},
                {"exp", forge == "expired" ? now - 3600 : now + 3600}};
    if (forge == "alg_none" || forge == "hs256") header["alg"] = forge == "alg_none" ? "none" : "HS256";
    std::string input = crypto::base64url_encode(header.dump()) + "." + crypto::base64url_encode(claims.dump());
    std::string sig = forge == "alg_none" ? std::string()
                      : forge == "hs256"  ? crypto::hmac_sha256(clients_[client_id].secret, input)
                                          : sign_rs256(input, k.key.get());
    // A signature that is not the key's: one byte of a valid one changed.
    if (forge == "signature" && !sig.empty()) sig[sig.size() / 2] = static_cast<char>(sig[sig.size() / 2] ^ 0x5a);
    std::string token = input + "." + crypto::base64url_encode(sig);
    // Listed with the secrets: the harness checks that the daemon's log never shows one.
    remember("id_tokens", token);
    return token;
  }

  Reply token(const Request& req) {
    if (req.content_type.rfind("application/x-www-form-urlencoded", 0) != 0) {
      return oauth_error(400, "invalid_request", "Invalid content type");
    }
    auto form = parse_form(req.body);
    if (!form) return oauth_error(400, "invalid_request", "Bad form body");
    std::string grant = form_value(*form, "grant_type").value_or("");
    if (grant == kJwtBearer) return jwt_bearer(*form);
    std::string client_id;
    if (auto bad = authenticate(req, *form, client_id)) return *bad;
    if (grant == "authorization_code") return exchange(*form, client_id);
    if (grant == "refresh_token") return refresh(*form, client_id);
    return oauth_error(400, "unsupported_grant_type", "Invalid grant_type: " + grant);
  }

  Reply exchange(const Form& form, const std::string& client_id) {
    auto it = codes_.find(form_value(form, "code").value_or(""));
    if (it == codes_.end() || it->second.used || TimeSource::now() >= it->second.expires ||
        it->second.client_id != client_id) {
      return oauth_error(400, "invalid_grant", "Bad Request");
    }
    Code& c = it->second;
    if (form_value(form, "redirect_uri").value_or("") != c.redirect_uri) {
      return oauth_error(400, "redirect_uri_mismatch", "Bad Request");
    }
    auto verifier = form_value(form, "code_verifier");
    if (!verifier || crypto::base64url_encode(crypto::sha256(*verifier)) != c.challenge) {
      return oauth_error(400, "invalid_grant", "Invalid code verifier.");
    }
    c.used = true;
    count("codes_exchanged");
    std::string refresh;
    if (c.issue_refresh) {
      refresh = random_id("1//0g", 36);
      refresh_[refresh] = Refresh{client_id, c.account, c.scope, false, TimeSource::now()};
      remember("refresh_tokens", refresh);
    }
    json out{{"access_token", issue_access(c.account, c.scope, refresh, opts_.expires_in)},
             {"expires_in", opts_.expires_in},
             {"scope", c.scope},
             {"token_type", "Bearer"}};
    if (!refresh.empty()) out["refresh_token"] = refresh;
    if (has_scope(c.scope, "openid")) out["id_token"] = id_token(client_id, c.account);
    return json_reply(200, out);
  }

  Reply refresh(const Form& form, const std::string& client_id) {
    std::string token = form_value(form, "refresh_token").value_or("");
    auto it = refresh_.find(token);
    // Testing mode: refresh tokens die a fixed time after they were issued (7 days at Google).
    const bool too_old = it != refresh_.end() && opts_.refresh_expires_in > 0 &&
                         TimeSource::now() - it->second.created >= std::chrono::seconds(opts_.refresh_expires_in);
    if (it == refresh_.end() || it->second.client_id != client_id || it->second.revoked || too_old) {
      if (it != refresh_.end() && it->second.revoked) count("revoked_refresh_token_uses");
      return oauth_error(400, "invalid_grant", "Token has been expired or revoked.");
    }
    count("refreshes");
    count_in("refreshes_by_account", it->second.account);
    // Google does not send the refresh token again; the scope is what the token carries now.
    json out{{"access_token", issue_access(it->second.account, it->second.scope, token, opts_.expires_in)},
             {"expires_in", opts_.expires_in},
             {"scope", it->second.scope},
             {"token_type", "Bearer"}};
    if (has_scope(it->second.scope, "openid")) out["id_token"] = id_token(client_id, it->second.account);
    return json_reply(200, out);
  }

  Reply reject_jwt(const std::string& why, const std::string& error, const std::string& description, int status = 400) {
    count("jwt_rejections");
    count_in("jwt_rejected_for", why);
    return oauth_error(status, error, description);
  }

  Reply jwt_bearer(const Form& form) {
    std::string jwt = form_value(form, "assertion").value_or("");
    remember("assertions", jwt);
    auto d1 = jwt.find('.');
    auto d2 = d1 == std::string::npos ? std::string::npos : jwt.find('.', d1 + 1);
    if (d2 == std::string::npos || jwt.find('.', d2 + 1) != std::string::npos) {
      return reject_jwt("format", "invalid_grant", "Invalid JWT: not a JWS");
    }
    auto header_text = crypto::base64url_decode(std::string_view(jwt).substr(0, d1));
    auto claims_text = crypto::base64url_decode(std::string_view(jwt).substr(d1 + 1, d2 - d1 - 1));
    auto signature = crypto::base64url_decode(std::string_view(jwt).substr(d2 + 1));
    if (!header_text || !claims_text || !signature)
      return reject_jwt("encoding", "invalid_grant", "Invalid JWT: bad encoding");
    json header = json::parse(*header_text, nullptr, false);
    json claims = json::parse(*claims_text, nullptr, false);
    if (!header.is_object() || !claims.is_object()) return reject_jwt("json", "invalid_grant", "Invalid JWT: bad JSON");
    if (header.value("alg", "") != "RS256" || header.value("typ", "JWT") != "JWT") {
      return reject_jwt("alg", "invalid_grant", "Invalid JWT: alg must be RS256");
    }
    std::string iss = claims.value("iss", "");
    auto sa = accounts_.find(iss);
    if (sa == accounts_.end()) return reject_jwt("iss", "invalid_grant", "Invalid grant: account not found");
    if (header.contains("kid") && header["kid"] != sa->second.private_key_id) {
      return reject_jwt("kid", "invalid_grant", "Invalid JWT Signature.");
    }
    if (!verify_rs256(jwt.substr(0, d2), *signature, sa->second.public_pem)) {
      return reject_jwt("signature", "invalid_grant", "Invalid JWT Signature.");
    }
    if (claims.value("aud", "") != base_url_ + "/token") {
      return reject_jwt("aud", "invalid_grant", "Invalid JWT: Failed audience check.");
    }
    const auto now =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    if (!claims.contains("iat") || !claims["iat"].is_number_integer() || !claims.contains("exp") ||
        !claims["exp"].is_number_integer()) {
      return reject_jwt("iat_exp", "invalid_grant", "Invalid JWT: iat and exp are required.");
    }
    std::int64_t iat = claims["iat"].get<std::int64_t>();
    std::int64_t exp = claims["exp"].get<std::int64_t>();
    if (exp - iat > 3600 || exp <= now || iat > now + 60 || iat < now - 3600) {
      return reject_jwt("iat_exp", "invalid_grant",
                        "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. "
                        "Check your iat and exp values in the JWT claim.");
    }
    std::string scope = claims.value("scope", "");
    if (scope.empty()) {
      return reject_jwt("scope", "invalid_scope", "Invalid OAuth scope or ID token audience provided.");
    }
    if (claims.contains("sub") && !sa->second.allow_subject) {
      return reject_jwt("sub", "unauthorized_client",
                        "Client is unauthorized to retrieve access tokens using this method, or client not authorized "
                        "for any of the scopes requested.",
                        401);
    }
    count("jwt_grants");
    stats_["last_assertion_header"] = header;
    stats_["last_assertion_claims"] = claims;
    std::string subject = claims.value("sub", iss);
    return json_reply(200, json{{"access_token", issue_access(subject, scope, "", opts_.client_expires_in)},
                                {"expires_in", opts_.client_expires_in},
                                {"token_type", "Bearer"}});
  }

  Reply revoke(const Request& req) {
    std::string token = req.param("token").value_or("");
    if (token.empty()) {
      if (auto form = parse_form(req.body)) token = form_value(*form, "token").value_or("");
    }
    count("revocation_requests");
    if (auto it = refresh_.find(token); it != refresh_.end() && !it->second.revoked) {
      it->second.revoked = true;
      for (auto& [k, a] : access_) {
        if (a.refresh == token) a.revoked = true;
      }
      count("revocations");
      return json_reply(200, json::object());
    }
    if (auto it = access_.find(token); it != access_.end() && !it->second.revoked) {
      it->second.revoked = true;
      if (auto r = refresh_.find(it->second.refresh); r != refresh_.end()) r->second.revoked = true;
      count("revocations");
      return json_reply(200, json::object());
    }
    return oauth_error(400, "invalid_token", "Token expired or revoked");
  }

  std::map<std::string, Client> clients_;
  std::map<std::string, ServiceAccount> accounts_;
  std::map<std::string, Code> codes_;
  std::map<std::string, Access> access_;
  std::map<std::string, Refresh> refresh_;
  std::set<std::string> consented_;
  std::map<std::string, std::set<std::string>> granted_;  // client "\n" account -> scopes granted so far
  std::map<std::string, std::string> subs_;               // login -> sub
  std::vector<SigningKey> keys_;                          // the last one signs
  std::set<std::string> untick_;
  int untick_count_ = 0;
  std::string forge_;
  int forge_count_ = 0;
};

}  // namespace

std::unique_ptr<FakePlatform> make_google_fake(const Options& opts) { return std::make_unique<GoogleFake>(opts); }

}  // namespace mediax::fakep
