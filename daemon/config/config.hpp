// TOML -> validated Config. toml++ is used only in this folder.
// One table of keys (type, bounds, default, reloadable) drives parsing, validation and the docs.
#pragma once

#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace mediax {

struct DatabaseConfig {
  std::string url = "postgresql:///mediax";   // libpq connection string or URI
  int pool_size = 4;                          // connections, 1..64
};

struct AdminConfig {
  std::string listen = "127.0.0.1:8080";      // host:port ("[::1]:8080" for IPv6); port 0 = any free port
  std::string public_url = "http://127.0.0.1:8080";  // callback is {public_url}/oauth/callback
  std::size_t max_body_bytes = 1 << 20;       // 413 above this, 1 KiB..64 MiB
  int threads = 8;                            // HTTP worker threads, 1..256
};

struct RefreshConfig {
  double fraction = 0.2;                      // refresh when this fraction of the lifetime is left, 0..0.9
  std::int64_t min_margin_seconds = 60;       // ... but never later than this before expiry, 0..86400
  std::int64_t jitter_seconds = 15;           // random 0..jitter earlier, spreads load, 0..3600
  int max_concurrent = 16;                    // refreshes in flight at once, 1..1024
  std::int64_t retry_min_seconds = 5;         // backoff bounds for failed refreshes, 1..3600
  std::int64_t retry_max_seconds = 600;       // 1..86400, >= retry_min_seconds
  std::int64_t default_expires_in = 3600;     // when a provider omits expires_in, 60..31536000
  std::int64_t lease_seconds = 60;            // how long one instance owns a refresh, 5..3600
  std::int64_t connect_timeout_ms = 5000;     // to platforms, 100..60000
  std::int64_t request_timeout_ms = 15000;    // whole call, 100..300000
};

struct OAuthConfig {
  std::int64_t state_ttl_seconds = 600;       // authorization requests expire, 60..3600
};

struct LogConfig {
  std::string level = "info";                 // trace, debug, info, warn, error, critical, off
  std::string format = "text";                // text or json
};

struct Config {
  std::string path;                           // file it was read from
  DatabaseConfig database;
  AdminConfig admin;
  RefreshConfig refresh;
  OAuthConfig oauth;
  LogConfig log;

  std::string callback_url() const { return public_url_trimmed() + "/oauth/callback"; }
  std::string public_url_trimmed() const;
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
  std::string key;          // "refresh.fraction"
  std::string type;         // "float", "integer", "string"
  std::string default_value;
  std::string description;
  bool reloadable;
};
const std::vector<ConfigKeyDoc>& config_key_docs();

}  // namespace mediax
