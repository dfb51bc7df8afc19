// End-to-end harness: the real mediaxd process against a throwaway PostgreSQL database, the fake
// OAuth 2.0 server (tests/fakes) and the oidc-provider harness (tests/e2e/oidc).
//
// Every E2ETest gets its own database and daemon. Helpers throw std::runtime_error with the whole
// story when something is off (GoogleTest reports it as a failure of the test), and wait by polling
// with deadlines. At TearDown the daemon's log is searched for every code, token and secret the test
// and the fakes saw: none may appear.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/http_util.hpp"
#include "support/pg_cluster.hpp"
#include "support/process.hpp"

namespace mediax::e2e {

using json = nlohmann::json;
using namespace std::chrono_literals;
using test::HttpResult;

// The programs under test: the environment variable when set (MEDIAXD_BIN, MEDIAX_FAKE_BIN,
// MEDIAX_FAKE_PLATFORMS_BIN), else `name` in this build's bin/ directory.
std::string built_program(const char* env, const std::string& name);
std::string mediaxd_bin();
std::string fake_bin();
std::string source_dir();  // MEDIAX_SOURCE_DIR, else this build's source tree

// One cluster for the whole run, started by the environment in main.cpp.
test::PgCluster& cluster();
void start_cluster();
void stop_cluster();

// Polls `pred` every `every` until it holds or `timeout` passes; returns its last answer.
bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout,
                std::chrono::milliseconds every = 100ms);

// A random string of `n` hex characters, prefixed: distinctive values to search logs for.
std::string random_hex(const std::string& prefix, std::size_t n = 24);
std::int64_t as_id(const json& v);  // a number or a numeric string
// Throws std::runtime_error(message) unless cond.
void require(bool cond, const std::string& message);
// Sends `raw` over a fresh connection to base_url's port on 127.0.0.1 and returns everything the
// server answers until it closes the connection (or 10 s pass).
std::string raw_exchange(const std::string& base_url, const std::string& raw);

class Daemon {
 public:
  // Writes the config (with `extra_config` TOML appended and `admin_extra` TOML lines inside
  // [admin]), runs `mediaxd migrate`, creates the admin API key "e2e" with
  // `mediaxd create-api-key`, starts mediaxd and waits for /readyz. When admin_extra sets
  // tls_cert_file the daemon is reached over https (the certificate is not verified).
  Daemon(std::string db_url, std::string dir, const std::string& extra_config = "", const std::string& admin_extra = "",
         const std::string& refresh_extra = "");
  pid_t pid() const;
  ~Daemon();

  std::string url(const std::string& path) const { return base_ + path; }
  std::string callback_url() const { return base_ + "/oauth/callback"; }  // the shared one
  // An app's own callback: the redirect_uri of an app registered without one.
  std::string callback_url(const std::string& app) const { return base_ + "/oauth/callback/" + app; }
  const std::string& db_url() const { return db_url_; }
  const std::string& config_path() const { return config_; }
  std::string log() const;
  void stop();

  // Requests send "Authorization: Bearer <api_key()>" (the admin key "e2e").
  HttpResult get(const std::string& path) const;
  HttpResult post(const std::string& path, const json& body = json::object()) const;
  HttpResult post_raw(const std::string& path, const std::string& body, const std::string& content_type) const;
  HttpResult del(const std::string& path) const;
  // Any request with an explicit key ("" sends no Authorization header).
  HttpResult request(const std::string& method, const std::string& path, const std::string& key,
                     const std::string& body = "", const std::string& content_type = "") const;
  const std::string& api_key() const { return api_key_; }

  // Runs `mediaxd ARGS --config FILE`; the result's out/err/exit_code.
  test::RunResult run_cli(const std::vector<std::string>& args) const;
  // `mediaxd create-api-key`; returns the printed key.
  std::string create_api_key(const std::string& name, const std::string& role) const;

 private:
  std::string db_url_;
  std::string dir_;
  std::string base_;
  std::string config_;
  std::string api_key_;
  std::unique_ptr<test::Process> proc_;
};

// Writes a daemon config for `db_url` listening on `port` into `path`, `extra_config` (TOML) at
// the end, `admin_extra` (TOML lines) inside [admin]. Unless extra_config has a [security] table,
// [security] key_file names the key of the database (seal_key_file_for).
// `refresh_extra` (TOML lines) inside [refresh]; a key it sets replaces the harness's default.
void write_daemon_config(const std::string& path, const std::string& db_url, int port,
                         const std::string& extra_config = "", const std::string& admin_extra = "",
                         const std::string& refresh_extra = "");

// 32 random bytes written to `path` (mode 600); returns path.
std::string write_seal_key_file(const std::string& path);
// The encryption key file of a database in this run: made in `dir` the first time, shared by
// every daemon on that database afterwards (they must read each other's secrets).
std::string seal_key_file_for(const std::string& db_url, const std::string& dir);

class FakeOAuth2 {
 public:
  struct Flags {
    int expires_in = 3600;
    bool rotate_refresh = false;
    std::string issuer_path;
    int latency_ms = 0;  // every /token answer waits this long (--latency-ms)
    bool iss_response = false;  // RFC 9207: advertise and send iss (--iss-response)
  };
  FakeOAuth2(const Flags& flags, const std::string& dir);

  std::string base() const { return base_; }
  std::string issuer() const { return base_ + flags_.issuer_path; }
  void register_client(const std::string& id, const std::string& secret, const std::string& auth_method,
                       const std::vector<std::string>& redirect_uris) const;
  json stats() const;
  std::int64_t stat(const std::string& name) const;
  std::int64_t refreshes_of(const std::string& account) const;
  void fail(const json& spec) const;
  bool token_active(const std::string& access_token) const;
  std::vector<std::string> secrets() const;  // every code, token and client secret it knows

 private:
  Flags flags_;
  std::string base_;
  std::unique_ptr<test::Process> proc_;
};

// One row of mediax.access_tokens.
struct TokenRow {
  std::string access_token;
  std::optional<std::int64_t> grant_id;
  std::string account_id;
  std::string expires_at;
};
// The published token of an app's grant, or of the app itself when grant_id is empty.
std::optional<TokenRow> published_token(const std::string& db_url, const std::string& app,
                                        std::optional<std::int64_t> grant_id);
std::int64_t count_published(const std::string& db_url, const std::string& app);

// The secrets of at least 8 characters that occur in text (fast for very many secrets).
std::vector<std::string> secrets_in(const std::string& text, const std::set<std::string>& secrets);

// Where the platform sent a browser back, and the cookie that browser sends along.
struct BrowserCallback {
  std::string url;     // not visited yet
  std::string cookie;  // "__Host-mediax_connect=…"; "" for a browser that never opened the link
};

// The browser of a connect flow, as the e2e tests play it: opens the daemon's one-time connect
// link and keeps the __Host-mediax_connect cookie it sets, follows the redirect at the platform,
// and comes back to the callback with the cookie (a real browser does each step the same way).
class Browser {
 public:
  // GET connect_url: expects 302 with the cookie; returns the platform's URL (Location as sent,
  // fragment and all). Throws with the whole answer otherwise.
  std::string open_link(const std::string& connect_url);
  // GET platform_url at the platform (the caller adds login_hint or what the fake wants): expects a
  // 302 back to `callback_prefix`; returns it with this browser's cookie.
  BrowserCallback authorize(const std::string& platform_url, const std::string& callback_prefix) const;
  const std::string& cookie() const { return cookie_; }

 private:
  std::string cookie_;
};
// GET the callback with the browser's cookie (none when it has none).
HttpResult visit(const BrowserCallback& cb);

class E2ETest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  Daemon& daemon() { return *daemon_; }
  // Called by SetUp once dir_ exists and before the daemon starts: fixtures start the fake servers
  // the daemon's config must name here and return TOML to append to that config.
  virtual std::string prepare_daemon_config() { return ""; }
  FakeOAuth2& start_fake(const FakeOAuth2::Flags& flags);
  void remember_secret(const std::string& s);
  // Every secret the test and its fakes know, and the fixture daemon's API key: none may be logged.
  std::set<std::string> known_secrets() const;

  // Registers a client at the fake (redirect URI: the daemon's callback) and an oauth2 app for it
  // in the daemon, with explicit endpoints or, when `discovery`, only the issuer. Returns the app JSON.
  json register_fake_app(FakeOAuth2& fake, const std::string& name,
                         const std::string& auth_method = "client_secret_post", bool discovery = false,
                         bool client_credentials = false);
  // POST /v1/apps/{app}/authorize (body: the choices): the one-time connect link. Throws unless 200.
  std::string connect_link(const std::string& app, const json& body = json::object());
  // A new Browser opens a new connect link: the platform URL it is sent to.
  std::string platform_url(const std::string& app, const json& body = json::object());
  // Starts an authorization at the daemon, opens the link in a new Browser and lets the fake approve
  // it for `login`; returns the callback the fake redirected to (not yet visited) with the cookie.
  BrowserCallback authorize_at_fake(const std::string& app, const std::string& login,
                                    const std::string& extra_query = "");
  // authorize_at_fake + the callback; returns the id of the grant of `login`.
  std::int64_t connect(const std::string& app, const std::string& login);
  json grant(std::int64_t id);
  // The app's grants as returned by GET /v1/apps/{app}/grants.
  json grants(const std::string& app);

  std::string dir_;
  std::unique_ptr<Daemon> daemon_;
  std::vector<std::unique_ptr<FakeOAuth2>> fakes_;
  std::set<std::string> secrets_;
};

}  // namespace mediax::e2e
