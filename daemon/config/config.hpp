// TOML -> validated Config. toml++ is used only in this folder.
// One table of keys (type, bounds, default, reloadable) drives parsing, validation and the docs.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace mediax {

struct DatabaseConfig {
  std::string url = "postgresql:///mediax";  // libpq connection string or URI
  int pool_size = 8;                         // connections, 1..64
  // A file holding the database password (trailing line end ignored), so the password is neither
  // in database.url nor in the config file. Under systemd a relative path names a credential
  // (LoadCredential=db-password:/etc/mediax/db-password and password_file = "db-password").
  std::string password_file;
  // Not a config key: what password_file holds, read at start (runtime/credentials.hpp).
  std::string password;

  friend bool operator==(const DatabaseConfig&, const DatabaseConfig&) = default;
};

struct AdminConfig {
  std::string listen = "127.0.0.1:8080";             // host:port ("[::1]:8080" for IPv6); port 0 = any free port
  std::string public_url = "http://127.0.0.1:8080";  // callback is {public_url}/oauth/callback
  std::size_t max_body_bytes = 1 << 20;              // 413 above this, 1 KiB..64 MiB
  std::string tls_cert_file;                         // PEM certificate (chain); set with tls_key_file to serve HTTPS
  std::string tls_key_file;                          // PEM private key of tls_cert_file
  // Token reads only (GET /v1/grants/{id}/token, /v1/apps/{name}/token, /healthz), plain HTTP: a
  // second listener of the same server (http/http_server.hpp) for apps reading tokens at a high
  // rate. "" = off.
  std::string token_listen;
  // The HTTP server (http/http_server.hpp), shared by both listeners.
  int event_threads = 2;  // event loops serving every connection, 1..64 (formerly admin.token_threads)
  int threads = 16;       // handler pool: requests that may block (database, platforms), 1..256
  std::int64_t header_timeout_seconds = 10;  // the whole request head must arrive within this, 1..300
  std::int64_t body_timeout_seconds = 30;    // the whole request body, after its head, 1..300
  std::int64_t idle_timeout_seconds = 5;     // a kept-alive connection without a request is closed, 1..300
  int max_connections = 16384;               // open connections per listener (503 beyond), 16..1000000

  friend bool operator==(const AdminConfig&, const AdminConfig&) = default;
};

struct RefreshConfig {
  double fraction = 0.2;                     // refresh when this fraction of the lifetime is left, 0..0.9
  std::int64_t min_margin_seconds = 60;      // ... but never later than this before expiry, 0..86400
  std::int64_t jitter_seconds = 15;          // random 0..jitter earlier, spreads load, 0..3600
  int max_concurrent = 512;                  // refreshes in flight at once (fibers), 1..4096
  std::int64_t retry_min_seconds = 5;        // backoff bounds for failed refreshes, 1..3600
  std::int64_t retry_max_seconds = 600;      // 1..86400, >= retry_min_seconds
  std::int64_t default_expires_in = 3600;    // when a provider omits expires_in, 60..31536000
  std::int64_t lease_seconds = 60;           // how long one instance owns a refresh, 5..3600
  std::int64_t sweep_seconds = 30;           // re-read schedule changes other instances made, 1..3600
  std::int64_t shutdown_grace_seconds = 10;  // SIGTERM: how long refreshes in flight may finish, 0..600
  std::int64_t connect_timeout_ms = 5000;    // to platforms, 100..60000
  std::int64_t request_timeout_ms = 15000;   // whole call, 100..300000
  std::int64_t keep_alive_seconds = 4;       // reuse an idle connection to a platform this long, 0 (never)..300
  // Per platform endpoint (schedule/circuit_breaker.hpp): this many consecutive failed calls
  // (no answer, 5xx, garbage) open its circuit for breaker_cooldown_seconds, doubling on each
  // failed probe up to breaker_max_cooldown_seconds.
  int breaker_failures = 5;                         // 1..1000
  std::int64_t breaker_cooldown_seconds = 30;       // 1..3600
  std::int64_t breaker_max_cooldown_seconds = 600;  // 1..86400 (never below the cool-down)
  int max_in_flight_per_endpoint = 0;               // calls to one endpoint at once; 0 = see circuit_breaker.hpp

  friend bool operator==(const RefreshConfig&, const RefreshConfig&) = default;
};

struct OAuthConfig {
  std::int64_t state_ttl_seconds = 600;  // authorization requests expire, 60..3600
  // One-time connect links (…/connect/start?ticket=…) expire unopened, 30..3600.
  std::int64_t connect_link_ttl_seconds = 300;

  friend bool operator==(const OAuthConfig&, const OAuthConfig&) = default;
};

struct WebhookConfig {
  int max_attempts = 10;                  // a delivery is given up after this many attempts, 1..100
  std::int64_t retry_min_seconds = 10;    // first retry after a failed attempt, 1..3600
  std::int64_t retry_max_seconds = 3600;  // longest gap between attempts, 1..86400, >= retry_min_seconds
  std::int64_t timeout_ms = 5000;         // connect and read timeout of one POST, 100..60000
  std::int64_t poll_seconds = 5;          // look for due events (also other instances'), 1..3600
  std::int64_t reauth_notice_days = 7;    // grant.reauth_due this long before reauth_due_at, 0..60

  friend bool operator==(const WebhookConfig&, const WebhookConfig&) = default;
};

// Encryption at rest of stored secrets (client secrets, refresh tokens, PKCE verifiers).
struct SecurityConfig {
  // File of 32 raw bytes or 64 hex characters: the current key, which seals. Empty: the systemd
  // credential $CREDENTIALS_DIRECTORY/mediax.key.
  std::string key_file;
  // Comma-separated key files still read but no longer used to seal (rotation: the old keys
  // until `mediaxd rotate-key` has re-sealed everything).
  std::string previous_key_files;
  // mediax.audit keeps its records this long; the janitor purges older ones (>= 7: the table
  // refuses to delete younger rows).
  int audit_retention_days = 90;

  // Networks outbound calls may reach besides public addresses (net/outbound_guard.hpp), each a
  // CIDR or one address, checked at load: "127.0.0.0/8", "::1/128", "10.20.0.0/16". Plain http://
  // goes only to these. Empty: public addresses only.
  std::vector<std::string> allowed_private_networks;
  // token/rejected reports per API key and per token (a grant's or an app's) per minute; more
  // get 429 (service/rejected_limits.hpp).
  std::int64_t rejected_per_key_per_minute = 60;
  std::int64_t rejected_per_token_per_minute = 6;
  // Failed authentications per peer address within the window; more get 429 on keyed routes
  // until the window ends (http/auth_guard.hpp).
  std::int64_t auth_failures_per_peer = 20;
  std::int64_t auth_failure_window_seconds = 60;

  // previous_key_files split at commas, blanks around each path trimmed, empty parts dropped.
  std::vector<std::string> previous_key_file_list() const;

  friend bool operator==(const SecurityConfig&, const SecurityConfig&) = default;
};

// [metrics]
struct MetricsConfig {
  // GET /metrics needs an API key (reader or admin): it names platforms' and identity providers' hosts.
  bool require_key = false;

  friend bool operator==(const MetricsConfig&, const MetricsConfig&) = default;
};

struct LogConfig {
  std::string level = "info";   // trace, debug, info, warn, error, critical, off
  std::string format = "text";  // text or json

  friend bool operator==(const LogConfig&, const LogConfig&) = default;
};

// [platforms.wechat] settings that are not URLs.
struct WeChatConfig {
  // A pushed event (WeChat third-party platform) whose timestamp is further than this from now
  // is refused as a replay, 30..3600.
  std::int64_t event_max_age_seconds = 300;

  friend bool operator==(const WeChatConfig&, const WeChatConfig&) = default;
};

// Base URLs of the built-in platforms, [platforms.<name>] in the file; every key is always present
// (the real hosts by default). Tests point them at fake servers.
using PlatformUrls = std::map<std::string, std::map<std::string, std::string>>;
inline PlatformUrls default_platform_urls() {
  return {
      {"douyin", {{"base_url", "https://open.douyin.com"}}},
      {"wechat",
       {{"open_base_url", "https://open.weixin.qq.com"},
        {"api_base_url", "https://api.weixin.qq.com"},
        {"mp_base_url", "https://mp.weixin.qq.com"}}},
      {"google",
       {{"auth_url", "https://accounts.google.com/o/oauth2/v2/auth"},
        {"token_url", "https://oauth2.googleapis.com/token"},
        {"revoke_url", "https://oauth2.googleapis.com/revoke"},
        {"jwks_url", "https://www.googleapis.com/oauth2/v3/certs"},
        {"issuer", "https://accounts.google.com"}}},
  };
}

struct Config {
  std::string path;  // file it was read from
  DatabaseConfig database;
  AdminConfig admin;
  RefreshConfig refresh;
  OAuthConfig oauth;
  WebhookConfig webhook;
  SecurityConfig security;
  MetricsConfig metrics;
  LogConfig log;
  // platforms["douyin"]["base_url"]; platforms["wechat"]["open_base_url"|"api_base_url"|"mp_base_url"];
  // platforms["google"]["auth_url"|"token_url"|"revoke_url"]. http(s) URLs.
  PlatformUrls platforms = default_platform_urls();
  WeChatConfig wechat;  // [platforms.wechat] event_max_age_seconds

  // The shared callback; an app's own is callback_url() + "/" + its name (service/connect_checks.hpp).
  std::string callback_url() const { return public_url_trimmed() + "/oauth/callback"; }
  // admin.public_url without trailing slashes.
  std::string public_url_trimmed() const;

  friend bool operator==(const Config&, const Config&) = default;
};

// Thrown for every config problem; what() is "file:line:col: key: message".
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Parses and validates. Unknown keys, wrong types and out-of-range values are errors naming the key.
Config load_config(const std::string& path);
Config parse_config(const std::string& toml_text, const std::string& source_name);

// One line per key with its default, for --help and the README.
struct ConfigKeyDoc {
  std::string key;            // "refresh.fraction"
  std::string type;           // "float", "integer", "string"
  std::string default_value;  // as written in TOML: 0.2, 60, "info"
  std::string description;    // includes the allowed range or values
  bool reloadable;            // takes effect on SIGHUP without a restart
};
const std::vector<ConfigKeyDoc>& config_key_docs();

// Keys whose value differs between two configs and that only take effect after a restart
// (for the SIGHUP handler to warn about). Empty when nothing like that changed.
std::vector<std::string> non_reloadable_changes(const Config& running, const Config& loaded);

// The config as a TOML document, every key with its description as a comment; parses back to an
// equal Config. Note: it contains database.url as given, which may hold a password.
std::string render_config(const Config& config);

}  // namespace mediax
