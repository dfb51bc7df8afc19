#include "platforms/spec_platform.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "crypto/crypto.hpp"
#include "platforms/platform_util.hpp"
#include "util/strings.hpp"
#include "util/time_format.hpp"
#include "util/url.hpp"

namespace mediax {

namespace spec {

const char* to_string(Call c) {
  switch (c) {
    case Call::exchange_code: return "exchange_code";
    case Call::refresh: return "refresh";
    case Call::renew: return "renew";
    case Call::client_token: return "client_token";
    case Call::revoke: return "revoke";
  }
  return "call";
}

const std::optional<Request>& Spec::request(Call c) const {
  switch (c) {
    case Call::exchange_code: return exchange_code;
    case Call::refresh: return refresh;
    case Call::renew: return renew;
    case Call::client_token: return client_token;
    case Call::revoke: return revoke;
  }
  return revoke;
}

Seconds last_refresh_lead(Seconds lifetime) { return std::max(Seconds(1), std::min(Seconds(600), lifetime / 10)); }

namespace {

using nlohmann::json;

// The object holding member `path`'s last name ("a.b": j["a"]), and that name; nullptr when a step
// is missing or not an object.
const json* parent_of(const json& j, std::string_view path, std::string& last) {
  const json* at = &j;
  for (;;) {
    const auto dot = path.find('.');
    if (dot == std::string_view::npos) break;
    if (!at->is_object()) return nullptr;
    auto it = at->find(std::string(path.substr(0, dot)));
    if (it == at->end()) return nullptr;
    at = &*it;
    path.remove_prefix(dot + 1);
  }
  last.assign(path);
  return at->is_object() ? at : nullptr;
}

std::optional<std::int64_t> int_at(const json& j, std::string_view path) {
  std::string key;
  const json* p = parent_of(j, path, key);
  return p ? platform_util::int_member(*p, key.c_str()) : std::nullopt;
}

std::string string_at(const json& j, std::string_view path) {
  std::string key;
  const json* p = parent_of(j, path, key);
  return p ? platform_util::string_member(*p, key.c_str()) : std::string();
}

std::string id_at(const json& j, std::string_view path) {
  std::string key;
  const json* p = parent_of(j, path, key);
  return p ? platform_util::id_member(*p, key.c_str()) : std::string();
}

std::optional<Seconds> seconds_at(const json& j, std::string_view path, Expiry expiry, TimePoint now) {
  std::string key;
  const json* p = parent_of(j, path, key);
  if (!p) return std::nullopt;
  if (expiry == Expiry::absolute_or_relative) {
    // Bilibili writes the end as Unix seconds: a value past now is a time, anything else a duration.
    // Read raw: seconds_member clamps to kMaxSeconds (10 years), below every Unix time of this era.
    const auto unix_now = std::chrono::duration_cast<Seconds>(now.time_since_epoch());
    if (auto raw = platform_util::int_member(*p, key.c_str()); raw && *raw > unix_now.count()) {
      return std::min(Seconds(*raw) - unix_now, Seconds(platform_util::kMaxSeconds));
    }
  }
  return platform_util::seconds_member(*p, key.c_str());
}

std::vector<std::string> scopes_at(const json& j, std::string_view path, std::string_view separator) {
  std::string key;
  const json* p = parent_of(j, path, key);
  if (!p) return {};
  auto it = p->find(key);
  if (it == p->end()) return {};
  std::vector<std::string> out;
  if (it->is_array()) {
    for (const auto& s : *it) {
      if (s.is_string() && !s.get<std::string>().empty()) out.push_back(s.get<std::string>());
    }
    return out;
  }
  if (!it->is_string()) return {};
  // Separators in answers vary (", " or ","): any separator character or a space splits.
  std::string delimiters(separator);
  delimiters += ' ';
  return util::split(it->get<std::string>(), delimiters);
}

const Error* find_error(const Spec& s, Call call, std::optional<std::int64_t> code, std::string_view name) {
  for (const auto& e : s.errors) {
    if (!(e.calls & only(call))) continue;
    if (code && e.name.empty() && e.code == *code) return &e;
    if (!code && !name.empty() && e.name == name) return &e;
  }
  return nullptr;
}

}  // namespace

Outcome read_object(const Spec& s, Call call, const Request& req, const HttpClientResponse& r, TimePoint now,
                    const std::vector<std::string>& secrets, nlohmann::json& object) {
  const std::string what(req.what);
  auto j = platform_util::parse_object(r.body);
  if (!j) return platform_util::http_failure(r, what, now);
  const Answer& a = s.answer;

  std::optional<std::int64_t> code;
  for (auto path : a.code) {
    if ((code = int_at(*j, path))) break;
  }
  std::string name;
  for (auto path : a.error_name) {
    if (!(name = string_at(*j, path)).empty()) break;
  }
  if (!a.ok_name.empty() && name == a.ok_name) name.clear();
  const bool failed = (code && *code != a.ok_code) || (!code && !name.empty());
  const Error* e = failed ? find_error(s, call, code, name) : nullptr;
  // A name is the platform's words (RFC 6749 error codes are ASCII tokens); keep it fit for a code.
  std::string code_text = code ? std::to_string(*code) : platform_util::clean_text(name);
  if (platform_util::status_decides(r.status)) {
    // A 429, a 5xx or no answer is what its status says whatever the body says (platform_util's
    // ladder), named by the platform's code when the body carries an error of the table that means
    // the same (TikTok's 429 rate_limit_exceeded, 500 internal_error; not a 503 "invalid_grant").
    Outcome o = platform_util::http_failure(r, what, now);
    if (e && e->kind == o.kind) {
      o.code = std::move(code_text);
      if (!e->meaning.empty()) o.message += ": " + std::string(e->meaning);
    }
    return o;
  }
  if (failed) {
    std::string text;
    for (auto path : a.text) {
      text = platform_util::safe_text(string_at(*j, path), secrets);
      if (!text.empty()) break;
    }
    if (e && e->kind == OutcomeKind::success) {
      // What the call wanted is already so (revoking a token that is dead): done, with the reason.
      Outcome o = Outcome::success({});
      o.code = std::move(code_text);
      o.message = std::string(e->meaning);
      o.http_status = r.status;
      return o;
    }
    std::string message = e && !e->meaning.empty() ? std::string(e->meaning) : std::string(s.display) + " error";
    if (!text.empty()) message += " (" + std::string(s.display) + ": " + text + ")";
    std::optional<Seconds> retry_after;
    if (e && e->retry_after_seconds > 0) retry_after = Seconds(e->retry_after_seconds);
    if (!retry_after && r.status == 429) retry_after = platform_util::parse_retry_after(r.header("Retry-After"), now);
    const OutcomeKind kind = e ? e->kind : s.unknown_code;
    return Outcome::failure(kind, std::move(code_text), std::move(message), r.status, retry_after);
  }
  if (r.status < 200 || r.status >= 300) return platform_util::http_failure(r, what, now);
  object = std::move(*j);
  Outcome o = Outcome::success({});
  o.http_status = r.status;
  return o;
}

Outcome read_answer(const Spec& s, Call call, const Request& req, const HttpClientResponse& r, TimePoint now,
                    const std::vector<std::string>& secrets) {
  json j;
  Outcome checked = read_object(s, call, req, r, now, secrets, j);
  // A failure, a revocation, or an error the table calls success (the work was already done).
  if (!checked.ok() || call == Call::revoke || !j.is_object()) return checked;
  const std::string what(req.what);
  const Answer& a = s.answer;
  const json* data = &j;
  for (auto path : a.data) {
    std::string key;
    const json* p = parent_of(j, path, key);
    if (p && p->contains(key) && (*p)[key].is_object()) {
      data = &(*p)[key];
      break;
    }
  }

  TokenResult t;
  if (call == Call::renew) {
    // A renewal hands back a refresh token (and its lifetime), no access token.
    std::string rt = string_at(*data, a.refresh_token);
    if (rt.empty()) {
      return Outcome::failure(OutcomeKind::retry_later, "bad_response", what + " answered without a refresh token",
                              r.status);
    }
    t.refresh_token = std::move(rt);
    t.refresh_expires_in = seconds_at(*data, a.expires_in, a.expiry, now);
    if (!t.refresh_expires_in && s.lifetimes.refresh_token > 0)
      t.refresh_expires_in = Seconds(s.lifetimes.refresh_token);
    return platform_util::checked_success(std::move(t), r.status, what);
  }
  t.access_token = string_at(*data, a.access_token);
  if (t.access_token.empty()) {
    return Outcome::failure(OutcomeKind::retry_later, "bad_response", what + " answered without an access token",
                            r.status);
  }
  t.expires_in = seconds_at(*data, a.expires_in, a.expiry, now);
  if (!a.expires_at_extra.empty() && t.expires_in) {
    // now + what seconds_at took off an absolute end: that end, exactly.
    t.extra[std::string(a.expires_at_extra)] =
        (std::chrono::duration_cast<Seconds>(now.time_since_epoch()) + *t.expires_in).count();
  }
  if (!a.refresh_token.empty()) {
    std::string rt = string_at(*data, a.refresh_token);
    if (!rt.empty()) t.refresh_token = std::move(rt);
  }
  if (!a.refresh_expires_in.empty()) t.refresh_expires_in = seconds_at(*data, a.refresh_expires_in, a.expiry, now);
  if (!a.account_id.empty()) t.account_id = id_at(*data, a.account_id);
  if (!a.scopes.empty()) t.scopes = scopes_at(*data, a.scopes, s.scope_separator);
  if (!a.token_type.empty()) t.token_type = string_at(*data, a.token_type);
  return platform_util::checked_success(std::move(t), r.status, what);
}

}  // namespace spec

namespace {

using nlohmann::json;
using spec::Call;

std::string option_string(const App& app, std::string_view name) {
  if (!app.options.is_object()) return {};
  auto it = app.options.find(std::string(name));
  if (it == app.options.end() || !it->is_string()) return {};
  return it->get<std::string>();
}

// One option of the app by the spec's description, with platform_util's messages.
std::optional<std::string> check_option(const spec::Option& o, const json& options) {
  const std::string key(o.name);
  const json& v = options[key];
  switch (o.type) {
    case spec::OptionType::integer: {
      std::int64_t n = 0;
      return platform_util::integer_option(options, key.c_str(), o.min, o.max, n);
    }
    case spec::OptionType::boolean: {
      bool b = false;
      return platform_util::bool_option(options, key.c_str(), b);
    }
    case spec::OptionType::choice: {
      std::vector<std::string> allowed(o.choices.begin(), o.choices.end());
      std::string c;
      return platform_util::choice_option(options, key.c_str(), allowed, c);
    }
    case spec::OptionType::text:
      if (v.is_string() && !v.get<std::string>().empty()) return std::nullopt;
      return "options." + key + ": must be a non-empty string";
    case spec::OptionType::url: {
      auto u = v.is_string() ? parse_url(v.get<std::string>()) : std::nullopt;
      if (u && u->target.find('?') == std::string::npos) return std::nullopt;
      return "options." + key + ": an http(s) URL without credentials or query" +
             (o.about.empty() ? std::string() : " (" + std::string(o.about) + ")");
    }
    case spec::OptionType::object:
      if (v.is_object()) return std::nullopt;
      return "options." + key + ": must be an object";
  }
  return std::nullopt;
}

}  // namespace

Outcome SpecHooks::exchange_code(SpecPlatform& p, const App& app, const CallInputs& in) const {
  return p.run(Call::exchange_code, app, in);
}

Outcome SpecHooks::refresh(SpecPlatform& p, const App& app, const Grant& grant) const {
  return p.plain_refresh(app, grant);
}

Outcome SpecHooks::client_token(SpecPlatform& p, const App& app, const AppTokenCall& /*call*/) const {
  return p.run(Call::client_token, app, {});
}

namespace {
const SpecHooks kNoHooks;
}

SpecPlatform::SpecPlatform(const spec::Spec& spec, HttpClient& http, const PlatformSettings& settings)
    : spec_(spec), http_(http), settings_(settings) {}

std::string SpecPlatform::base_url(const App& app, std::string_view key) const {
  std::string own = option_string(app, key);
  if (!own.empty()) return own;
  for (const auto& b : spec_.base_urls) {
    if (b.key == key) {
      return platform_util::configured_url(settings_, std::string(spec_.name), std::string(key),
                                           std::string(b.fallback));
    }
  }
  return {};
}

AppCheck SpecPlatform::prepare_app(App& app) {
  const std::string name(spec_.name);
  const std::string display(spec_.display);
  if (app.client_id.empty()) return AppCheck::fail("client_id: " + display + "'s app id is required");
  if (app.client_secret.empty()) return AppCheck::fail("client_secret: " + display + "'s app secret is required");
  if (!app.issuer.empty()) return AppCheck::fail("issuer: not used by " + name);
  if (!app.endpoints.authorize_url.empty() || !app.endpoints.token_url.empty() ||
      !app.endpoints.revocation_url.empty()) {
    return AppCheck::fail("endpoints: not used by " + name + "; set the base URLs in [platforms." + name +
                          "] of the config");
  }
  if (app.token_auth_method != "client_secret_post") {
    return AppCheck::fail("token_auth_method: " + name +
                          " takes the secret as a request parameter (client_secret_post)");
  }
  if (app.client_credentials && !spec_.client_token) {
    return AppCheck::fail("client_credentials: " + display + " has no app token for this kind of app");
  }
  if (!spec_.scope_separator.empty()) {
    for (const auto& s : app.scopes) {
      if (s.empty() || s.find_first_of(std::string(spec_.scope_separator) + " ") != std::string::npos) {
        return AppCheck::fail("scopes: a " + display + " scope may not be empty or contain '" +
                              std::string(spec_.scope_separator) + "' or a space");
      }
    }
  }
  if (spec_.scopes_required && app.scopes.empty() && !app.client_credentials) {
    return AppCheck::fail("scopes: " + display + " needs at least one scope to authorize an account");
  }
  if (app.options.is_null()) app.options = json::object();
  if (!app.options.is_object()) return AppCheck::fail("options: must be an object");
  for (const auto& item : app.options.items()) {
    // (not a structured binding: clang 14 refuses one captured by the lambda)
    const std::string& key = item.key();
    const auto o = std::find_if(spec_.options.begin(), spec_.options.end(),
                                [&](const spec::Option& opt) { return opt.name == key; });
    if (o == spec_.options.end())
      return AppCheck::fail("options." + platform_util::clean_text(key) + ": unknown option");
    if (item.value().is_null()) continue;
    if (auto e = check_option(*o, app.options)) return AppCheck::fail(*e);
  }
  const SpecHooks& hooks = spec_.hooks ? *spec_.hooks : kNoHooks;
  if (auto e = hooks.check_app(app)) return AppCheck::fail(*e);
  return {};
}

std::string SpecPlatform::pkce_challenge(const App& app, const std::string& verifier) const {
  const bool hex = spec_.pkce_hex_option.empty() ? false : option_string(app, spec_.pkce_hex_option) != "base64url";
  return hex ? crypto::to_hex(crypto::sha256(verifier)) : Platform::pkce_challenge(app, verifier);
}

bool SpecPlatform::uses_pkce(const App& app) const {
  if (!spec_.pkce) return false;
  auto it = app.options.is_object() ? app.options.find("pkce") : app.options.end();
  return !(app.options.is_object() && it != app.options.end() && it->is_boolean() && !it->get<bool>());
}

namespace {

// The value of one parameter, or nullopt when it is left out.
std::optional<std::string> value_of(const spec::Spec& s, const spec::Param& p, const App& app, const CallInputs& in,
                                    const AuthorizeParams* authorize, bool pkce) {
  auto non_empty = [](std::string v) { return v.empty() ? std::nullopt : std::optional<std::string>(std::move(v)); };
  switch (p.value) {
    case spec::Value::text: return std::string(p.text);
    case spec::Value::client_id: return app.client_id;
    case spec::Value::client_secret: return app.client_secret;
    case spec::Value::code: return in.code;
    case spec::Value::code_verifier: return pkce ? non_empty(in.code_verifier) : std::nullopt;
    case spec::Value::redirect_uri: {
      std::string r = authorize ? authorize->redirect_uri : in.redirect_uri;
      return r.empty() ? app.redirect_uri : r;
    }
    case spec::Value::refresh_token: return in.refresh_token;
    case spec::Value::access_token: return in.access_token;
    case spec::Value::scopes: {
      const auto& scopes = authorize && !authorize->scopes.empty() ? authorize->scopes : app.scopes;
      return non_empty(platform_util::join(scopes, std::string(s.scope_separator)));
    }
    case spec::Value::state: return authorize ? authorize->state : std::string();
    case spec::Value::code_challenge: return pkce && authorize ? non_empty(authorize->code_challenge) : std::nullopt;
    case spec::Value::option: {
      if (!app.options.is_object()) return std::nullopt;
      auto it = app.options.find(std::string(p.text));
      if (it == app.options.end() || it->is_null()) return non_empty(std::string(p.fallback));
      if (it->is_string()) return it->get<std::string>();
      if (it->is_boolean()) return std::string(it->get<bool>() ? "true" : "false");
      return it->dump();
    }
    case spec::Value::hook: return s.hooks ? s.hooks->param(p.name, app) : std::nullopt;
  }
  return std::nullopt;
}

}  // namespace

const spec::Page& SpecPlatform::page(const App& app, bool mobile) const {
  const spec::Authorize& a = spec_.authorize;
  const std::string chosen = mobile && !a.mobile_page.empty() ? std::string(a.mobile_page)
                             : a.page_option.empty()          ? std::string()
                                                              : option_string(app, a.page_option);
  for (const auto& p : a.pages) {
    if (!chosen.empty() && p.when == chosen) return p;
  }
  return a.pages.front();
}

std::string SpecPlatform::check_authorize(const App& app, const AuthorizeParams& p) const {
  AuthorizeParams others = p;
  if (!spec_.authorize.mobile_page.empty()) others.mobile = false;
  return Platform::check_authorize(app, others);
}

std::string SpecPlatform::authorize_url(const App& app, const AuthorizeParams& p) const {
  const spec::Page& page = this->page(app, p.mobile);
  platform_util::Form q;
  const bool pkce = uses_pkce(app);
  for (const auto& param : page.params) {
    if (auto v = value_of(spec_, param, app, {}, &p, pkce)) q.emplace_back(std::string(param.name), std::move(*v));
  }
  if (pkce && !p.code_challenge.empty()) {
    const bool listed = std::any_of(page.params.begin(), page.params.end(),
                                    [](const spec::Param& x) { return x.value == spec::Value::code_challenge; });
    if (listed) q.emplace_back("code_challenge_method", "S256");
  }
  std::string url =
      platform_util::append_query(platform_util::join_url(base_url(app, page.base), std::string(page.path)), q);
  if (!page.fragment.empty()) url += "#" + std::string(page.fragment);
  return url;
}

HttpClientRequest SpecPlatform::build(Call call, const spec::Request& req, const App& app, const CallInputs& in) const {
  const bool pkce = call == Call::exchange_code && uses_pkce(app);
  platform_util::Form fields;
  for (const auto& p : req.params) {
    if (auto v = value_of(spec_, p, app, in, nullptr, pkce)) fields.emplace_back(std::string(p.name), std::move(*v));
  }
  HttpClientRequest out;
  out.method = std::string(req.method);
  const std::string url = platform_util::join_url(base_url(app, req.base), std::string(req.path));
  out.headers.emplace_back("Accept", "application/json");
  spec::Encoding encoding = req.encoding;
  if (!req.encoding_option.empty()) {
    // Checked at registration as a choice option of the spec.
    const std::string place = option_string(app, req.encoding_option);
    if (place == "query") encoding = spec::Encoding::query;
    if (place == "form") encoding = spec::Encoding::form;
    if (place == "json") encoding = spec::Encoding::json;
  }
  switch (encoding) {
    case spec::Encoding::query:
      out.url = platform_util::append_query(url, fields);
      // A POST whose parameters are in its URL still says what its (empty) body is (Bilibili).
      if (out.method == "POST") out.content_type = "application/x-www-form-urlencoded";
      break;
    case spec::Encoding::form:
      out.url = url;
      out.content_type = "application/x-www-form-urlencoded";
      out.body = form_encode(fields);
      break;
    case spec::Encoding::json: {
      out.url = url;
      out.content_type = "application/json";
      json body = json::object();
      for (auto& [k, v] : fields) body[k] = v;
      out.body = body.dump();
      break;
    }
  }
  return out;
}

Outcome SpecPlatform::send(Call call, const spec::Request& req, const HttpClientRequest& http_req,
                           const std::vector<std::string>& secrets) {
  HttpClientResponse r = http_.send(http_req);
  return spec::read_answer(spec_, call, req, r, SysClock::now(), secrets);
}

Outcome SpecPlatform::fetch_object(Call call, const spec::Request& req, const HttpClientRequest& http_req,
                                   const std::vector<std::string>& secrets, nlohmann::json& object) {
  HttpClientResponse r = http_.send(http_req);
  return spec::read_object(spec_, call, req, r, SysClock::now(), secrets, object);
}

spec::Rotation SpecPlatform::rotation(const App& app) const {
  return spec_.hooks ? spec_.hooks->rotation(spec_, app) : spec_.lifetimes.rotation;
}

Outcome SpecPlatform::run(Call call, const App& app, const CallInputs& in, const Grant* grant) {
  const auto& req = spec_.request(call);
  if (!req) {
    return Outcome::failure(OutcomeKind::app_misconfigured, "not_supported",
                            std::string(spec_.display) + " has no " + spec::to_string(call) + " call");
  }
  Outcome o = send(call, *req, build(call, *req, app, in),
                   {app.client_secret, in.code, in.code_verifier, in.refresh_token, in.access_token});
  if (!o.ok() || call == Call::revoke || call == Call::client_token || call == Call::renew) return o;

  // The refresh token's life, by the spec's rules.
  TokenResult& t = o.token;
  const TimePoint now = SysClock::now();
  const spec::Lifetimes& life = spec_.lifetimes;
  const spec::Rotation rotation = this->rotation(app);
  std::optional<Seconds> left;  // of the stored refresh token
  if (grant && grant->refresh_expires_at) left = std::chrono::duration_cast<Seconds>(*grant->refresh_expires_at - now);
  if (rotation == spec::Rotation::none) {
    // No refresh token, so nothing can renew the grant: it ends with its access token, and the
    // account must be connected again by then (reauth_due at that end; nothing to call before).
    t.refresh_token.reset();
    t.refresh_expires_in = t.expires_in;
    t.reauth_due = t.expires_in.has_value();
  } else if (call == Call::refresh && rotation != spec::Rotation::rotates) {
    const bool same = !t.refresh_token || *t.refresh_token == grant->refresh_token;
    if (rotation == spec::Rotation::reused && same) {
      // The stored one goes on; its end does not move.
      t.refresh_token.reset();
      t.refresh_expires_in.reset();
    } else if (rotation == spec::Rotation::reused) {
      // Another string, the same end.
      if (left && left->count() > 0) t.refresh_expires_in = left;
    } else if (left && left->count() > 0) {
      // rotates_keeping_expiry: the new one dies when the old one would have; an answer that says
      // sooner is believed.
      t.refresh_expires_in = t.refresh_expires_in ? std::min(*t.refresh_expires_in, *left) : *left;
    }
  } else if (t.refresh_token && !t.refresh_expires_in) {
    // The app's own figure first (the platform documents none), else the spec's.
    std::int64_t lifetime = life.refresh_token;
    if (!life.refresh_token_option.empty()) {
      auto it = app.options.is_object() ? app.options.find(std::string(life.refresh_token_option)) : app.options.end();
      if (app.options.is_object() && it != app.options.end() && it->is_number_integer())
        lifetime = it->get<std::int64_t>();
    }
    if (lifetime > 0) t.refresh_expires_in = Seconds(lifetime);
  }
  if (life.refresh_expiry_fixed && rotation != spec::Rotation::none) {
    std::optional<Seconds> until_end = t.refresh_expires_in;
    if (!until_end && call == Call::refresh) until_end = left;
    if (until_end && until_end->count() > 0) {
      // Nothing renews the refresh token: the account is connected again at its end, and the last
      // refresh comes just before it, so that the last access token lasts as long as the platform allows.
      const Seconds lifetime = life.refresh_token > 0 ? Seconds(life.refresh_token) : *until_end;
      const TimePoint end = now + *until_end;
      const TimePoint last = end - spec::last_refresh_lead(lifetime);
      t.call_again_by = last > now ? last : end;
      t.reauth_due = true;
    }
  }
  return o;
}

Outcome SpecPlatform::plain_refresh(const App& app, const Grant& grant) {
  if (rotation(app) == spec::Rotation::none) {
    return Outcome::failure(OutcomeKind::needs_reauth, "no_refresh_token",
                            std::string(spec_.display) + " gives this app no refresh token: connect the account again");
  }
  if (grant.refresh_token.empty()) {
    return Outcome::failure(OutcomeKind::needs_reauth, "no_refresh_token",
                            "the grant has no refresh token; connect the account again");
  }
  // A refresh token past its known end is dead whether or not refreshing moves that end (the end
  // was reckoned from the moment the answer arrived, never before the real one).
  if (grant.refresh_expires_at && SysClock::now() >= *grant.refresh_expires_at) {
    return Outcome::failure(OutcomeKind::needs_reauth, "refresh_token_expired",
                            "the refresh token expired at " + format_time(*grant.refresh_expires_at) +
                                ": connect the account again");
  }
  CallInputs in;
  in.refresh_token = grant.refresh_token;
  return run(Call::refresh, app, in, &grant);
}

Outcome SpecPlatform::exchange_code(const App& app, const std::string& code, const std::string& code_verifier,
                                    const std::string& redirect_uri) {
  CallInputs in;
  in.code = code;
  in.code_verifier = code_verifier;
  in.redirect_uri = redirect_uri;
  return (spec_.hooks ? *spec_.hooks : kNoHooks).exchange_code(*this, app, in);
}

Outcome SpecPlatform::refresh(const App& app, const Grant& grant) {
  return (spec_.hooks ? *spec_.hooks : kNoHooks).refresh(*this, app, grant);
}

Outcome SpecPlatform::client_token(const App& app, const AppTokenCall& call) {
  return (spec_.hooks ? *spec_.hooks : kNoHooks).client_token(*this, app, call);
}

Outcome SpecPlatform::revoke(const App& app, const Grant& grant) {
  if (!spec_.revoke) {
    Outcome o = Outcome::success({});
    o.code = "not_supported";
    o.message = spec_.no_revoke.empty() ? std::string(spec_.display) + " has no revocation call"
                                        : std::string(spec_.no_revoke);
    return o;
  }
  CallInputs in;
  in.refresh_token = grant.refresh_token;
  in.access_token = grant.access_token;
  // The token the call revokes is unknown (no refresh token, or no current access token in
  // memory): nothing to send; the grant ends here all the same.
  for (const auto& p : spec_.revoke->params) {
    const bool access = p.value == spec::Value::access_token;
    if ((access && in.access_token.empty()) || (p.value == spec::Value::refresh_token && in.refresh_token.empty())) {
      Outcome o = Outcome::success({});
      o.code = "not_supported";
      o.message = std::string("the grant has no ") + (access ? "access" : "refresh") + " token to revoke";
      return o;
    }
  }
  return run(Call::revoke, app, in, &grant);
}

}  // namespace mediax
