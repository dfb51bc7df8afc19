// Config loading. key_table() is the single source of truth: parsing, validation, the
// documentation, rendering and the reload check all walk it. Defaults are the member initializers
// in config.hpp, read back through each key's getter, so they are written down once.
#include "config/config.hpp"

#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>
#include <string_view>
#include <system_error>
#include <variant>

#include <toml++/toml.h>

#include "util/host_port.hpp"
#include "util/ip_address.hpp"
#include "util/strings.hpp"

namespace mediax {

namespace {

enum class Kind { integer, floating, string, string_list, boolean };
using Value = std::variant<std::int64_t, double, std::string, std::vector<std::string>, bool>;

struct KeySpec {
  std::string key;  // dotted: "refresh.fraction"
  Kind kind = Kind::string;
  std::int64_t int_min = 0, int_max = 0;
  double float_min = 0, float_max = 0;
  bool reloadable = false;
  std::string description;
  std::function<Value(const Config&)> get;
  std::function<void(Config&, const Value&)> set;
  std::function<std::string(const std::string&)> check;  // strings, each of a list: "" when valid, else the problem
};

std::string format_float(double v) {
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, v);
  std::string s(buf, res.ptr);
  if (s.find_first_of(".eEn") == std::string::npos) s += ".0";  // TOML floats need a point ("nan", "inf" pass)
  return s;
}

std::string quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || u == 0x7f) {
      char esc[8];
      std::snprintf(esc, sizeof esc, "\\u%04x", u);
      out += esc;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string to_toml(const Value& v) {
  if (auto* i = std::get_if<std::int64_t>(&v)) return std::to_string(*i);
  if (auto* d = std::get_if<double>(&v)) return format_float(*d);
  if (auto* list = std::get_if<std::vector<std::string>>(&v)) {
    std::string out = "[";
    for (std::size_t i = 0; i < list->size(); ++i) out += (i ? ", " : "") + quote((*list)[i]);
    return out + "]";
  }
  if (auto* b = std::get_if<bool>(&v)) return *b ? "true" : "false";
  return quote(std::get<std::string>(v));
}

const char* kind_name(Kind k) {
  switch (k) {
    case Kind::integer: return "integer";
    case Kind::floating: return "float";
    case Kind::string: return "string";
    case Kind::string_list: return "array of strings";
    case Kind::boolean: return "boolean";
  }
  return "?";
}

std::string node_type_name(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a float";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::date: return "a date";
    case toml::node_type::time: return "a time";
    case toml::node_type::date_time: return "a date-time";
    case toml::node_type::none: break;
  }
  return "nothing";
}

bool has_bad_chars(const std::string& s) {
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f) return true;
  }
  return false;
}

// host[:port] where host is a name, an IPv4 address or a bracketed IPv6 literal.
bool valid_authority(std::string_view a, bool port_required, bool allow_zero_port) {
  const auto hp = util::parse_host_port(a);
  if (!hp) return false;
  if (hp->port) return allow_zero_port || *hp->port > 0;
  return !port_required;
}

std::string check_listen(const std::string& s) {
  if (has_bad_chars(s) || !valid_authority(s, true, true)) {
    return "must be host:port, e.g. \"127.0.0.1:8080\" or \"[::1]:8080\" (port 0 = any free port)";
  }
  return "";
}

std::string check_http_url(const std::string& s) {
  std::size_t rest;
  if (util::istarts_with(s, "http://")) {
    rest = 7;
  } else if (util::istarts_with(s, "https://")) {
    rest = 8;
  } else {
    return "must be an http:// or https:// URL";
  }
  if (has_bad_chars(s)) return "must not contain spaces or control characters";
  if (s.find_first_of("?#") != std::string::npos) return "must not have a query or fragment";
  const auto authority = std::string_view(s).substr(rest, s.find('/', rest) - rest);
  if (authority.find('@') != std::string_view::npos) return "must not contain credentials";
  if (!valid_authority(authority, false, false)) return "must have a valid host and optional port";
  return "";
}

std::vector<std::string> split_paths(const std::string& s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= s.size()) {
    auto end = s.find(',', start);
    if (end == std::string::npos) end = s.size();
    std::string part = s.substr(start, end - start);
    while (!part.empty() && std::isspace(static_cast<unsigned char>(part.back()))) part.pop_back();
    std::size_t lead = 0;
    while (lead < part.size() && std::isspace(static_cast<unsigned char>(part[lead]))) ++lead;
    if (lead < part.size()) out.push_back(part.substr(lead));
    start = end + 1;
  }
  return out;
}

bool has_control_chars(const std::string& s) {
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return true;
  }
  return false;
}

// Key files are checked for existence when they are loaded (mediaxd run / rotate-key), not here:
// --check-config may run on another machine.
std::string check_key_file(const std::string& s) {
  if (has_control_chars(s)) return "must not contain control characters";
  if (s.find(',') != std::string::npos) return "is one file; older keys go in security.previous_key_files";
  return "";
}

std::string check_key_file_list(const std::string& s) {
  if (has_control_chars(s)) return "must not contain control characters";
  std::set<std::string> seen;
  for (const auto& p : split_paths(s)) {
    if (!seen.insert(p).second) return "names the file " + p + " twice";
  }
  return "";
}

std::string check_not_empty(const std::string& s) { return s.empty() ? "must not be empty" : ""; }

std::function<std::string(const std::string&)> one_of(std::vector<std::string> allowed) {
  return [allowed = std::move(allowed)](const std::string& s) -> std::string {
    for (const auto& a : allowed) {
      if (s == a) return "";
    }
    std::string msg = "must be one of ";
    for (std::size_t i = 0; i < allowed.size(); ++i) msg += (i ? ", " : "") + allowed[i];
    // Enum values are never secrets; echo (bounded) what was given.
    return msg + "; got " + quote(s.substr(0, 40));
  };
}

template <typename S, typename T>
KeySpec integer_key(std::string key, S Config::*sec, T S::*mem, std::int64_t lo, std::int64_t hi, bool reloadable,
                    std::string description) {
  KeySpec k;
  k.key = std::move(key);
  k.kind = Kind::integer;
  k.int_min = lo;
  k.int_max = hi;
  k.reloadable = reloadable;
  k.description = std::move(description) + ", " + std::to_string(lo) + ".." + std::to_string(hi);
  k.get = [sec, mem](const Config& c) { return Value(static_cast<std::int64_t>((c.*sec).*mem)); };
  k.set = [sec, mem](Config& c, const Value& v) { (c.*sec).*mem = static_cast<T>(std::get<std::int64_t>(v)); };
  return k;
}

template <typename S>
KeySpec float_key(std::string key, S Config::*sec, double S::*mem, double lo, double hi, bool reloadable,
                  std::string description) {
  KeySpec k;
  k.key = std::move(key);
  k.kind = Kind::floating;
  k.float_min = lo;
  k.float_max = hi;
  k.reloadable = reloadable;
  k.description = std::move(description) + ", " + format_float(lo) + ".." + format_float(hi);
  k.get = [sec, mem](const Config& c) { return Value((c.*sec).*mem); };
  k.set = [sec, mem](Config& c, const Value& v) { (c.*sec).*mem = std::get<double>(v); };
  return k;
}

template <typename S>
KeySpec string_key(std::string key, S Config::*sec, std::string S::*mem, bool reloadable, std::string description,
                   std::function<std::string(const std::string&)> check) {
  KeySpec k;
  k.key = std::move(key);
  k.kind = Kind::string;
  k.reloadable = reloadable;
  k.description = std::move(description);
  k.get = [sec, mem](const Config& c) { return Value((c.*sec).*mem); };
  k.set = [sec, mem](Config& c, const Value& v) { (c.*sec).*mem = std::get<std::string>(v); };
  k.check = std::move(check);
  return k;
}

template <typename S>
KeySpec string_list_key(std::string key, S Config::*sec, std::vector<std::string> S::*mem, bool reloadable,
                        std::string description, std::function<std::string(const std::string&)> check) {
  KeySpec k;
  k.key = std::move(key);
  k.kind = Kind::string_list;
  k.reloadable = reloadable;
  k.description = std::move(description);
  k.get = [sec, mem](const Config& c) { return Value((c.*sec).*mem); };
  k.set = [sec, mem](Config& c, const Value& v) { (c.*sec).*mem = std::get<std::vector<std::string>>(v); };
  k.check = std::move(check);
  return k;
}

// One entry of security.allowed_private_networks: a CIDR network or a single address.
std::string check_network(const std::string& s) {
  std::string problem;
  return util::parse_network(s, problem) ? std::string() : problem;
}

template <typename S>
KeySpec bool_key(std::string key, S Config::*sec, bool S::*mem, bool reloadable, std::string description) {
  KeySpec k;
  k.key = std::move(key);
  k.kind = Kind::boolean;
  k.reloadable = reloadable;
  k.description = std::move(description) + ", true or false";
  k.get = [sec, mem](const Config& c) { return Value((c.*sec).*mem); };
  k.set = [sec, mem](Config& c, const Value& v) { (c.*sec).*mem = std::get<bool>(v); };
  return k;
}

KeySpec platform_url_key(const std::string& platform, const std::string& name, std::string description) {
  KeySpec k;
  k.key = "platforms." + platform + "." + name;
  k.kind = Kind::string;
  k.reloadable = false;  // platform clients are built at start-up
  k.description = std::move(description);
  k.get = [platform, name](const Config& c) {
    auto p = c.platforms.find(platform);
    if (p == c.platforms.end()) return Value(std::string());
    auto v = p->second.find(name);
    return Value(v == p->second.end() ? std::string() : v->second);
  };
  k.set = [platform, name](Config& c, const Value& v) { c.platforms[platform][name] = std::get<std::string>(v); };
  k.check = check_http_url;
  return k;
}

const std::vector<KeySpec>& key_table() {
  static const std::vector<KeySpec> table = [] {
    using C = Config;
    std::vector<KeySpec> t;
    t.push_back(string_key("database.url", &C::database, &DatabaseConfig::url, false,
                           "PostgreSQL connection string or URI (libpq)", check_not_empty));
    t.push_back(integer_key("database.pool_size", &C::database, &DatabaseConfig::pool_size, 1, 64, false,
                            "database connections"));
    t.push_back(string_key("database.password_file", &C::database, &DatabaseConfig::password_file, false,
                           "file holding the database password, added to database.url (empty: none); under "
                           "systemd a relative path names a credential (LoadCredential=db-password:...)",
                           nullptr));
    t.push_back(string_key("admin.listen", &C::admin, &AdminConfig::listen, false,
                           "admin API address, host:port (\"[::1]:8080\" for IPv6; port 0 = any free port)",
                           check_listen));
    t.push_back(string_key("admin.public_url", &C::admin, &AdminConfig::public_url, false,
                           "http(s) URL users reach the daemon at; the OAuth callback is {public_url}/oauth/callback",
                           check_http_url));
    t.push_back(integer_key("admin.max_body_bytes", &C::admin, &AdminConfig::max_body_bytes, 1024, 64 << 20, false,
                            "largest request body accepted (413 above)"));
    t.push_back(string_key(
        "admin.tls_cert_file", &C::admin, &AdminConfig::tls_cert_file, false,
        "PEM certificate file; with tls_key_file the admin API is served over HTTPS (empty: plain HTTP)", nullptr));
    t.push_back(string_key("admin.tls_key_file", &C::admin, &AdminConfig::tls_key_file, false,
                           "PEM private key file of admin.tls_cert_file; under systemd a relative path names a "
                           "credential (LoadCredential=admin-tls.key:...), as does a relative tls_cert_file",
                           nullptr));
    t.push_back(string_key("admin.token_listen", &C::admin, &AdminConfig::token_listen, false,
                           "token-read listener, host:port (GET /v1/grants/{id}/token and /v1/apps/{name}/token only, "
                           "plain HTTP; empty: off)",
                           [](const std::string& v) { return v.empty() ? std::string() : check_listen(v); }));
    t.push_back(integer_key("admin.event_threads", &C::admin, &AdminConfig::event_threads, 1, 64, false,
                            "event-loop threads of the HTTP server, shared by admin.listen and admin.token_listen "
                            "(formerly admin.token_threads)"));
    t.push_back(integer_key("admin.threads", &C::admin, &AdminConfig::threads, 1, 256, false,
                            "handler pool: threads running requests that may block (database, platform calls); "
                            "token reads from memory never wait for it"));
    t.push_back(integer_key("admin.header_timeout_seconds", &C::admin, &AdminConfig::header_timeout_seconds, 1, 300,
                            false, "a request head (request line and headers) must arrive whole within this"));
    t.push_back(integer_key("admin.body_timeout_seconds", &C::admin, &AdminConfig::body_timeout_seconds, 1, 300, false,
                            "a request body must arrive whole within this after its head"));
    t.push_back(integer_key("admin.idle_timeout_seconds", &C::admin, &AdminConfig::idle_timeout_seconds, 1, 300, false,
                            "a kept-alive connection with no request for this long is closed"));
    t.push_back(integer_key("admin.max_connections", &C::admin, &AdminConfig::max_connections, 16, 1000000, false,
                            "open connections per listener; a new one beyond it gets 503 and is closed"));
    t.push_back(float_key("refresh.fraction", &C::refresh, &RefreshConfig::fraction, 0.0, 0.9, true,
                          "refresh when this fraction of a token's lifetime is left"));
    t.push_back(integer_key("refresh.min_margin_seconds", &C::refresh, &RefreshConfig::min_margin_seconds, 0, 86400,
                            true, "refresh at least this long before expiry (at most half the token's lifetime)"));
    t.push_back(integer_key("refresh.jitter_seconds", &C::refresh, &RefreshConfig::jitter_seconds, 0, 3600, true,
                            "refresh up to this much earlier at random, to spread load"));
    t.push_back(integer_key("refresh.max_concurrent", &C::refresh, &RefreshConfig::max_concurrent, 1, 4096, false,
                            "refreshes in flight at once"));
    t.push_back(integer_key("refresh.retry_min_seconds", &C::refresh, &RefreshConfig::retry_min_seconds, 1, 3600, true,
                            "first backoff after a failed refresh"));
    t.push_back(integer_key("refresh.retry_max_seconds", &C::refresh, &RefreshConfig::retry_max_seconds, 1, 86400, true,
                            "longest backoff after failed refreshes, >= retry_min_seconds"));
    t.push_back(integer_key("refresh.default_expires_in", &C::refresh, &RefreshConfig::default_expires_in, 60, 31536000,
                            false, "token lifetime assumed when a provider omits expires_in"));
    t.push_back(integer_key("refresh.lease_seconds", &C::refresh, &RefreshConfig::lease_seconds, 5, 3600, true,
                            "how long one instance owns a refresh"));
    t.push_back(integer_key("refresh.sweep_seconds", &C::refresh, &RefreshConfig::sweep_seconds, 1, 3600, false,
                            "how often to re-read schedule changes made by other instances"));
    t.push_back(integer_key("refresh.shutdown_grace_seconds", &C::refresh, &RefreshConfig::shutdown_grace_seconds, 0,
                            600, false, "on SIGTERM, how long refreshes in flight may take to finish"));
    t.push_back(integer_key("refresh.connect_timeout_ms", &C::refresh, &RefreshConfig::connect_timeout_ms, 100, 60000,
                            false, "connect timeout for platform calls"));
    t.push_back(integer_key("refresh.request_timeout_ms", &C::refresh, &RefreshConfig::request_timeout_ms, 100, 300000,
                            false, "timeout of a whole platform call"));
    t.push_back(integer_key(
        "refresh.keep_alive_seconds", &C::refresh, &RefreshConfig::keep_alive_seconds, 0, 300, false,
        "how long an idle connection to a platform endpoint is kept for the next call; 0 = a new connection per call"));
    t.push_back(
        integer_key("refresh.breaker_failures", &C::refresh, &RefreshConfig::breaker_failures, 1, 1000, true,
                    "consecutive failed calls (no answer, 5xx, garbage) that open a platform endpoint's circuit"));
    t.push_back(integer_key("refresh.breaker_cooldown_seconds", &C::refresh, &RefreshConfig::breaker_cooldown_seconds,
                            1, 3600, true, "how long an open circuit first pauses calls to its platform endpoint"));
    t.push_back(integer_key("refresh.breaker_max_cooldown_seconds", &C::refresh,
                            &RefreshConfig::breaker_max_cooldown_seconds, 1, 86400, true,
                            "longest pause of an open circuit (the pause doubles after each failed probe)"));
    t.push_back(integer_key("refresh.max_in_flight_per_endpoint", &C::refresh,
                            &RefreshConfig::max_in_flight_per_endpoint, 0, 1024, true,
                            "platform calls in flight to one endpoint at once; 0 = max_concurrent - 1 while it "
                            "answers, half of max_concurrent while it fails"));
    t.push_back(integer_key("oauth.state_ttl_seconds", &C::oauth, &OAuthConfig::state_ttl_seconds, 60, 3600, false,
                            "authorization requests expire after this"));
    t.push_back(integer_key("oauth.connect_link_ttl_seconds", &C::oauth, &OAuthConfig::connect_link_ttl_seconds, 30,
                            3600, false, "one-time connect links expire unopened after this"));
    t.push_back(integer_key("webhook.max_attempts", &C::webhook, &WebhookConfig::max_attempts, 1, 100, false,
                            "a webhook event is given up after this many failed attempts"));
    t.push_back(integer_key("webhook.retry_min_seconds", &C::webhook, &WebhookConfig::retry_min_seconds, 1, 3600, false,
                            "wait after the first failed webhook attempt; doubles per attempt"));
    t.push_back(integer_key("webhook.retry_max_seconds", &C::webhook, &WebhookConfig::retry_max_seconds, 1, 86400,
                            false, "longest wait between webhook attempts, >= retry_min_seconds"));
    t.push_back(integer_key("webhook.timeout_ms", &C::webhook, &WebhookConfig::timeout_ms, 100, 60000, false,
                            "connect and read timeout of one webhook POST"));
    t.push_back(integer_key("webhook.poll_seconds", &C::webhook, &WebhookConfig::poll_seconds, 1, 3600, false,
                            "look for due webhook events (also those other instances queued) at least this often"));
    t.push_back(integer_key("webhook.reauth_notice_days", &C::webhook, &WebhookConfig::reauth_notice_days, 0, 60, false,
                            "send grant.reauth_due this many days before a grant's refresh token dies for good"));
    t.push_back(string_key("security.key_file", &C::security, &SecurityConfig::key_file, false,
                           "file of the key that encrypts stored secrets (32 raw bytes or 64 hex characters); "
                           "empty: $CREDENTIALS_DIRECTORY/mediax.key (systemd LoadCredential)",
                           check_key_file));
    t.push_back(string_key("security.previous_key_files", &C::security, &SecurityConfig::previous_key_files, false,
                           "comma-separated older key files: still decrypted, never used to encrypt (key rotation); "
                           "under systemd a relative path names a credential",
                           check_key_file_list));
    t.push_back(string_list_key("security.allowed_private_networks", &C::security,
                                &SecurityConfig::allowed_private_networks, false,
                                "networks (CIDR, IPv4 or IPv6) that outbound calls (token, revocation, discovery, JWKS, "
                                "webhooks) may reach besides public addresses, e.g. [\"127.0.0.0/8\", \"::1/128\"]; "
                                "plain http:// goes only to these; empty: public addresses only",
                                check_network));
    t.push_back(integer_key("security.rejected_per_key_per_minute", &C::security,
                            &SecurityConfig::rejected_per_key_per_minute, 1, 100000, false,
                            "token/rejected reports that start a platform refresh one API key may make a minute; "
                            "more get 429 with Retry-After"));
    t.push_back(integer_key("security.rejected_per_token_per_minute", &C::security,
                            &SecurityConfig::rejected_per_token_per_minute, 1, 10000, false,
                            "token/rejected reports that start a refresh of one grant's or app's token a minute, by "
                            "all keys together; more get 429 with Retry-After"));
    t.push_back(integer_key("security.auth_failures_per_peer", &C::security, &SecurityConfig::auth_failures_per_peer,
                            1, 100000, false,
                            "failed authentications (unknown or revoked key, no key) one peer address may make in "
                            "auth_failure_window_seconds; then every route that needs a key answers it 429 until "
                            "the window ends, even with a good key"));
    t.push_back(integer_key("security.auth_failure_window_seconds", &C::security,
                            &SecurityConfig::auth_failure_window_seconds, 1, 86400, false,
                            "the window of security.auth_failures_per_peer, from a peer's first failure"));
    t.push_back(integer_key("security.audit_retention_days", &C::security, &SecurityConfig::audit_retention_days, 7,
                            36500, false, "audit records (mediax.audit) older than this are purged"));
    t.push_back(bool_key("metrics.require_key", &C::metrics, &MetricsConfig::require_key, false,
                         "GET /metrics needs an API key (reader or admin); it names platform and identity-provider "
                         "hosts"));
    t.push_back(string_key("log.level", &C::log, &LogConfig::level, true,
                           "trace, debug, info, warn, error, critical or off",
                           one_of({"trace", "debug", "info", "warn", "error", "critical", "off"})));
    t.push_back(string_key("log.format", &C::log, &LogConfig::format, false, "text or json", one_of({"text", "json"})));
    t.push_back(platform_url_key("douyin", "base_url", "Douyin Open Platform base URL"));
    t.push_back(platform_url_key("wechat", "open_base_url", "WeChat browser authorization base URL"));
    t.push_back(platform_url_key("wechat", "api_base_url", "WeChat API base URL"));
    t.push_back(platform_url_key("wechat", "mp_base_url",
                                 "WeChat third-party platform authorization pages (componentloginpage) base URL"));
    t.push_back(integer_key("platforms.wechat.event_max_age_seconds", &C::wechat, &WeChatConfig::event_max_age_seconds,
                            30, 3600, false,
                            "WeChat third-party platform pushes older (or newer) than this by their timestamp are "
                            "refused as replays"));
    t.push_back(platform_url_key("google", "auth_url", "Google authorization endpoint"));
    t.push_back(platform_url_key("google", "token_url", "Google token endpoint"));
    t.push_back(platform_url_key("google", "revoke_url", "Google revocation endpoint"));
    t.push_back(platform_url_key("google", "jwks_url", "Google's id_token signing keys (JWKS)"));
    t.push_back(platform_url_key("google", "issuer", "the iss of Google's id_tokens"));
    return t;
  }();
  return table;
}

const KeySpec* find_key(const std::string& key) {
  for (const auto& k : key_table()) {
    if (k.key == key) return &k;
  }
  return nullptr;
}

// Keys renamed since a release: the former name still sets the key (old files keep working), is
// never rendered or documented as a key of its own, and may not be set beside the current name.
struct FormerName {
  std::string_view former, current;
};
constexpr FormerName kFormerNames[] = {
    {"admin.token_threads", "admin.event_threads"},  // the token listener's loops became the server's
};

const FormerName* find_former_name(const std::string& key) {
  for (const auto& f : kFormerNames) {
    if (f.former == key) return &f;
  }
  return nullptr;
}

// "platforms", "platforms.douyin", "refresh", ...: every table that holds keys.
bool is_known_table(const std::string& prefix) {
  for (const auto& k : key_table()) {
    if (k.key.size() > prefix.size() && k.key.compare(0, prefix.size(), prefix) == 0 && k.key[prefix.size()] == '.') {
      return true;
    }
  }
  return false;
}

std::string section_of(const std::string& key) { return key.substr(0, key.rfind('.')); }

class Parser {
 public:
  Parser(const std::string& source, Config& out) : source_(source), out_(out) {}

  void walk(const toml::table& table, const std::string& prefix) {
    for (const auto& [k, node] : table) {
      const std::string key = prefix.empty() ? std::string(k.str()) : prefix + "." + std::string(k.str());
      if (const KeySpec* spec = find_key(key)) {
        apply(*spec, key, node);
      } else if (const FormerName* renamed = find_former_name(key)) {
        apply(*find_key(std::string(renamed->current)), key, node);
      } else if (is_known_table(key)) {
        if (!node.is_table()) fail(node.source(), key, "expected a table, got " + node_type_name(node));
        walk(*node.as_table(), key);
      } else {
        const auto& where = k.source().begin.line ? k.source() : node.source();
        fail(where, key, unknown_message(prefix, node));
      }
    }
  }

  void cross_checks() {
    for (const auto& f : kFormerNames) {
      const std::string former(f.former), current(f.current);
      if (seen_.count(former) && seen_.count(current)) {
        fail(region(former), former,
             "is the former name of " + current + ", which is set as well: keep only " + current);
      }
    }
    const auto& sec = out_.security;
    for (const auto& p : sec.previous_key_file_list()) {
      if (!sec.key_file.empty() && p == sec.key_file) {
        fail(region("security.previous_key_files"), "security.previous_key_files",
             "must not name security.key_file (" + p + "): the current key is read anyway");
      }
    }
    const auto& a = out_.admin;
    if (a.tls_cert_file.empty() != a.tls_key_file.empty()) {
      const std::string missing = a.tls_cert_file.empty() ? "admin.tls_cert_file" : "admin.tls_key_file";
      const std::string given = a.tls_cert_file.empty() ? "admin.tls_key_file" : "admin.tls_cert_file";
      fail(region(given), given, "needs " + missing + " as well (both or neither)");
    }
    if (!a.token_listen.empty()) {
      const auto token = util::parse_host_port(a.token_listen);
      const std::string token_host = token ? token->host : a.token_listen;
      if (a.token_listen == a.listen && token && token->port != 0) {
        fail(region("admin.token_listen"), "admin.token_listen", "must differ from admin.listen (" + a.listen + ")");
      } else if (!a.tls_cert_file.empty() && token_host != "127.0.0.1" && token_host != "::1" &&
                 token_host != "localhost") {
        fail(region("admin.token_listen"), "admin.token_listen",
             "serves plain HTTP: with the admin API on HTTPS (admin.tls_cert_file) it may only listen on a loopback "
             "address (127.0.0.1, [::1] or localhost), got " +
                 a.token_listen);
      }
    }
    const auto& r = out_.refresh;
    if (r.retry_max_seconds < r.retry_min_seconds) {
      // Blame the key the user wrote (the max when both were).
      if (seen_.count("refresh.retry_max_seconds") || !seen_.count("refresh.retry_min_seconds")) {
        fail(region("refresh.retry_max_seconds"), "refresh.retry_max_seconds",
             "must be >= refresh.retry_min_seconds (" + std::to_string(r.retry_min_seconds) + "), got " +
                 std::to_string(r.retry_max_seconds));
      }
      fail(region("refresh.retry_min_seconds"), "refresh.retry_min_seconds",
           "must be <= refresh.retry_max_seconds (" + std::to_string(r.retry_max_seconds) + "), got " +
               std::to_string(r.retry_min_seconds));
    }
    const auto& w = out_.webhook;
    if (w.retry_max_seconds < w.retry_min_seconds) {
      const bool max_given = seen_.count("webhook.retry_max_seconds") || !seen_.count("webhook.retry_min_seconds");
      const std::string key = max_given ? "webhook.retry_max_seconds" : "webhook.retry_min_seconds";
      fail(region(key), key,
           "webhook.retry_max_seconds (" + std::to_string(w.retry_max_seconds) +
               ") must be >= webhook.retry_min_seconds (" + std::to_string(w.retry_min_seconds) + ")");
    }
  }

  [[noreturn]] void fail(const toml::source_region& where, const std::string& key, const std::string& message) const {
    std::string loc = source_;
    if (where.begin.line > 0) {
      loc += ":" + std::to_string(where.begin.line) + ":" + std::to_string(where.begin.column);
    }
    throw ConfigError(loc + ": " + key + ": " + message);
  }

 private:
  // `written`: the key as the file names it (spec.key, or a former name of it), for messages.
  void apply(const KeySpec& spec, const std::string& written, const toml::node& node) {
    seen_[written] = node.source();
    switch (spec.kind) {
      case Kind::integer: {
        const auto* v = node.as_integer();
        if (!v) wrong_type(spec, written, node);
        const std::int64_t x = v->get();
        if (x < spec.int_min || x > spec.int_max) {
          fail(node.source(), written,
               "must be between " + std::to_string(spec.int_min) + " and " + std::to_string(spec.int_max) + ", got " +
                   std::to_string(x));
        }
        spec.set(out_, Value(x));
        break;
      }
      case Kind::floating: {
        double x;
        if (const auto* f = node.as_floating_point()) {
          x = f->get();
        } else if (const auto* i = node.as_integer()) {
          x = static_cast<double>(i->get());
        } else {
          wrong_type(spec, written, node);
        }
        if (!(x >= spec.float_min && x <= spec.float_max)) {  // also rejects nan
          fail(node.source(), written,
               "must be between " + format_float(spec.float_min) + " and " + format_float(spec.float_max) + ", got " +
                   format_float(x));
        }
        spec.set(out_, Value(x));
        break;
      }
      case Kind::string_list: {
        const auto* arr = node.as_array();
        if (!arr) wrong_type(spec, written, node);
        std::vector<std::string> list;
        for (const auto& item : *arr) {
          const auto* v = item.as_string();
          if (!v) fail(item.source(), written, "expected strings in the array, got " + node_type_name(item));
          if (spec.check) {
            if (std::string problem = spec.check(v->get()); !problem.empty()) fail(item.source(), written, problem);
          }
          list.push_back(v->get());
        }
        spec.set(out_, Value(std::move(list)));
        break;
      }
      case Kind::string: {
        const auto* v = node.as_string();
        if (!v) wrong_type(spec, written, node);
        const std::string& s = v->get();
        // Problems are described without echoing the value: database.url may hold a password.
        if (spec.check) {
          if (std::string problem = spec.check(s); !problem.empty()) fail(node.source(), written, problem);
        }
        spec.set(out_, Value(s));
        break;
      }
      case Kind::boolean: {
        const auto* v = node.as_boolean();
        if (!v) wrong_type(spec, written, node);
        spec.set(out_, Value(v->get()));
        break;
      }
    }
  }

  [[noreturn]] void wrong_type(const KeySpec& spec, const std::string& written, const toml::node& node) const {
    fail(node.source(), written,
         std::string("expected ") + (spec.kind == Kind::integer || spec.kind == Kind::string_list ? "an " : "a ") + kind_name(spec.kind) + ", got " +
             node_type_name(node));
  }

  std::string unknown_message(const std::string& prefix, const toml::node& node) const {
    std::string msg = node.is_table() ? "unknown table" : "unknown key";
    std::set<std::string> known;
    for (const auto& k : key_table()) {
      if (prefix.empty()) {
        known.insert(k.key.substr(0, k.key.find('.')));
      } else if (k.key.rfind(prefix + ".", 0) == 0) {
        const auto rest = k.key.substr(prefix.size() + 1);
        known.insert(rest.substr(0, rest.find('.')));
      }
    }
    msg += " (expected one of:";
    for (const auto& k : known) msg += " " + k;
    return msg + ")";
  }

  toml::source_region region(const std::string& key) const {
    auto it = seen_.find(key);
    return it == seen_.end() ? toml::source_region{} : it->second;
  }

  const std::string& source_;
  Config& out_;
  std::map<std::string, toml::source_region> seen_;
};

}  // namespace

std::vector<std::string> SecurityConfig::previous_key_file_list() const { return split_paths(previous_key_files); }

std::string Config::public_url_trimmed() const {
  std::string url = admin.public_url;
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

Config parse_config(const std::string& toml_text, const std::string& source_name) {
  toml::table root;
  try {
    root = toml::parse(toml_text, source_name);
  } catch (const toml::parse_error& e) {
    const auto& pos = e.source().begin;
    std::string loc = source_name;
    if (pos.line > 0) loc += ":" + std::to_string(pos.line) + ":" + std::to_string(pos.column);
    throw ConfigError(loc + ": TOML syntax error: " + std::string(e.description()));
  }
  Config config;
  config.path = source_name;
  Parser parser(source_name, config);
  parser.walk(root, "");
  parser.cross_checks();
  return config;
}

Config load_config(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    throw ConfigError(path + ": cannot read config file: is a directory");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(path + ": cannot read config file: " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw ConfigError(path + ": cannot read config file: read error");
  return parse_config(text.str(), path);
}

const std::vector<ConfigKeyDoc>& config_key_docs() {
  static const std::vector<ConfigKeyDoc> docs = [] {
    const Config defaults;
    std::vector<ConfigKeyDoc> out;
    for (const auto& k : key_table()) {
      out.push_back({k.key, kind_name(k.kind), to_toml(k.get(defaults)), k.description, k.reloadable});
    }
    return out;
  }();
  return docs;
}

std::vector<std::string> non_reloadable_changes(const Config& running, const Config& loaded) {
  std::vector<std::string> changed;
  for (const auto& k : key_table()) {
    if (!k.reloadable && k.get(running) != k.get(loaded)) changed.push_back(k.key);
  }
  return changed;
}

std::string render_config(const Config& config) {
  const Config defaults;
  std::string out;
  std::string section;
  for (const auto& k : key_table()) {
    if (section_of(k.key) != section) {
      section = section_of(k.key);
      out += (out.empty() ? "[" : "\n[") + section + "]\n";
    }
    out += "# " + k.description + " (default " + to_toml(k.get(defaults)) + (k.reloadable ? ", reloadable" : "") +
           ")\n";
    out += k.key.substr(k.key.rfind('.') + 1) + " = " + to_toml(k.get(config)) + "\n";
  }
  return out;
}

}  // namespace mediax
