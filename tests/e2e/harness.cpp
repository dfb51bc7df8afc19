#include "harness.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <mutex>
#include <random>
#include <stdexcept>
#include <string_view>
#include <thread>
#include <unordered_set>

#include <httplib.h>
#include <pqxx/pqxx>

namespace mediax::e2e {

namespace {

std::unique_ptr<test::PgCluster> g_cluster;
std::atomic<int> g_counter{0};

std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v == nullptr || *v == '\0' ? fallback : v;
}

std::string tail_lines(const std::string& text, std::size_t max_chars = 12000) {
  return text.size() <= max_chars ? text : "...\n" + text.substr(text.size() - max_chars);
}

// A database name from the current test's name: lower case, [a-z0-9_], unique in the run (the pid
// keeps two test processes on the shared cluster apart).
std::string database_name() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string raw = info != nullptr ? std::string(info->test_suite_name()) + "_" + info->name() : "e2e";
  std::string name = "e2e_";
  for (char c : raw) {
    name += std::isalnum(static_cast<unsigned char>(c)) ? static_cast<char>(std::tolower(static_cast<unsigned char>(c)))
                                                        : '_';
  }
  if (name.size() > 42) name.resize(42);
  return name + "_" + std::to_string(::getpid()) + "_" + std::to_string(++g_counter);
}

}  // namespace

std::string built_program(const char* env, const std::string& name) {
  return env_or(env, std::string(MEDIAX_E2E_BIN_DIR) + "/" + name);
}
std::string mediaxd_bin() { return built_program("MEDIAXD_BIN", "mediaxd"); }
std::string fake_bin() { return built_program("MEDIAX_FAKE_BIN", "mediax-fake-oauth2"); }
std::string source_dir() { return env_or("MEDIAX_SOURCE_DIR", MEDIAX_SOURCE_DIR); }

test::PgCluster& cluster() {
  if (!g_cluster) throw std::runtime_error("the PostgreSQL cluster is not running (see the environment's failure)");
  return *g_cluster;
}
void start_cluster() { g_cluster = test::shared_cluster(); }
void stop_cluster() { g_cluster.reset(); }

bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout, std::chrono::milliseconds every) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (pred()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return pred();
    std::this_thread::sleep_for(every);
  }
}

std::string random_hex(const std::string& prefix, std::size_t n) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = prefix;
  for (std::size_t i = 0; i < n; ++i) out += kHex[rng() % 16];
  return out;
}

std::int64_t as_id(const json& v) {
  if (v.is_number_integer()) return v.get<std::int64_t>();
  if (v.is_string()) return std::stoll(v.get<std::string>());
  throw std::runtime_error("not an id: " + v.dump());
}

void require(bool cond, const std::string& message) {
  if (!cond) throw std::runtime_error(message);
}

std::string raw_exchange(const std::string& base_url, const std::string& raw) {
  const auto url = test::parse_url(base_url);
  require(url.has_value(), "bad daemon URL " + base_url);
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  require(fd >= 0, "socket failed");
  timeval tv{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(url->port));
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    throw std::runtime_error("cannot connect to " + base_url);
  }
  (void)send(fd, raw.data(), raw.size(), MSG_NOSIGNAL);
  std::string answer;
  char buf[4096];
  for (;;) {
    const ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    answer.append(buf, static_cast<std::size_t>(n));
  }
  close(fd);
  return answer;
}

// ---------------------------------------------------------------------------------------------
// Daemon

std::string write_seal_key_file(const std::string& path) {
  std::random_device rd;
  std::string key;
  for (int i = 0; i < 32; ++i) key.push_back(static_cast<char>(rd() & 0xff));
  test::write_file(path, key);
  std::filesystem::permissions(path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write,
                               std::filesystem::perm_options::replace);
  return path;
}

std::string seal_key_file_for(const std::string& db_url, const std::string& dir) {
  static std::mutex mu;
  static std::map<std::string, std::string> keys;  // database URL -> key file
  std::lock_guard lk(mu);
  auto it = keys.find(db_url);
  if (it != keys.end() && std::filesystem::exists(it->second)) return it->second;
  std::string path = dir + "/mediax-" + std::to_string(++g_counter) + ".key";
  keys[db_url] = write_seal_key_file(path);
  return path;
}

void write_daemon_config(const std::string& path, const std::string& db_url, int port, const std::string& extra_config,
                         const std::string& admin_extra, const std::string& refresh_extra) {
  // Every daemon needs an encryption key; one per database, so daemons sharing one read each
  // other's secrets. A test that sets [security] itself chooses its keys.
  // The fakes listen on loopback: outbound calls may go there (and over plain http), unless the
  // test sets security.allowed_private_networks itself.
  const std::string allow_loopback = "allowed_private_networks = [\"127.0.0.0/8\", \"::1/128\"]\n";
  std::string extra = extra_config;
  const auto own_security = extra.find("[security]");
  if (own_security != std::string::npos && extra.find("allowed_private_networks") == std::string::npos) {
    extra.insert(own_security + std::string("[security]").size(), "\n" + allow_loopback);
  }
  const std::string security = own_security != std::string::npos
                                   ? std::string()
                                   : "\n[security]\nkey_file = \"" +
                                         seal_key_file_for(db_url, std::filesystem::path(path).parent_path().string()) +
                                         "\"\n" + allow_loopback;
  // A [refresh] default line, unless refresh_extra sets that key itself.
  auto refresh_default = [&refresh_extra](const std::string& line) {
    const std::string key = line.substr(0, line.find(' '));
    const bool overridden = refresh_extra.rfind(key + " ", 0) == 0 ||
                            refresh_extra.find("\n" + key + " ") != std::string::npos;
    return overridden ? std::string() : line + "\n";
  };
  std::string addr = "127.0.0.1:" + std::to_string(port);
  const std::string scheme = admin_extra.find("tls_cert_file") != std::string::npos ? "https" : "http";
  test::write_file(path,
                   "[database]\n"
                   "url = \"" +
                       db_url +
                       "\"\n"
                       "\n[admin]\n"
                       "listen = \"" +
                       addr +
                       "\"\n"
                       "public_url = \"" +
                       scheme + "://" + addr + "\"\n" + (admin_extra.empty() ? std::string() : admin_extra + "\n") +
                       "\n[refresh]\n" + refresh_default("fraction = 0.5") + refresh_default("min_margin_seconds = 1") +
                       refresh_default("jitter_seconds = 0") + refresh_default("retry_min_seconds = 1") +
                       refresh_default("retry_max_seconds = 5") + refresh_default("default_expires_in = 60") +
                       (refresh_extra.empty() ? std::string() : refresh_extra + "\n") +
                       "\n[log]\n"
                       "level = \"debug\"\n" +
                       security + (extra.empty() ? std::string() : "\n" + extra + "\n"));
}

Daemon::Daemon(std::string db_url, std::string dir, const std::string& extra_config, const std::string& admin_extra,
               const std::string& refresh_extra)
    : db_url_(std::move(db_url)), dir_(std::move(dir)) {
  int port = test::free_port();
  const bool tls = admin_extra.find("tls_cert_file") != std::string::npos;
  base_ = std::string(tls ? "https" : "http") + "://127.0.0.1:" + std::to_string(port);
  config_ = dir_ + "/mediaxd.toml";
  const std::string& config = config_;
  write_daemon_config(config, db_url_, port, extra_config, admin_extra, refresh_extra);

  test::ProcessOptions migrate_opts;
  migrate_opts.log_dir = dir_;
  migrate_opts.name = "migrate";
  auto m = test::run_process(
      mediaxd_bin(), {"migrate", "--config", config, "--migrations", source_dir() + "/migrations"}, migrate_opts, 60s);
  require(m.exit_code == 0, "mediaxd migrate exited with " + std::to_string(m.exit_code) + "\nstdout:\n" + m.out +
                                "\nstderr:\n" + tail_lines(m.err));
  api_key_ = create_api_key("e2e-" + std::to_string(port), "admin");  // unique: several daemons may share a database

  test::ProcessOptions opts;
  opts.log_dir = dir_;
  opts.name = "mediaxd";
  proc_ = std::make_unique<test::Process>(mediaxd_bin(), std::vector<std::string>{"--config", config}, opts);
  bool ready = eventually([&] { return !proc_->running() || request("GET", "/readyz", "").status == 200; }, 30s);
  require(ready && proc_->running(), std::string("mediaxd did not become ready (") +
                                         (proc_->running() ? "no 200 from /readyz" : "it exited") + ")\nstderr:\n" +
                                         tail_lines(proc_->stderr_text()));
}

Daemon::~Daemon() { stop(); }

pid_t Daemon::pid() const { return proc_ ? proc_->pid() : -1; }

void Daemon::stop() {
  if (proc_) proc_->terminate(10s);
}

std::string Daemon::log() const { return proc_ ? proc_->stderr_text() + proc_->stdout_text() : ""; }

test::RunResult Daemon::run_cli(const std::vector<std::string>& args) const {
  std::vector<std::string> all = args;
  all.push_back("--config");
  all.push_back(config_);
  test::ProcessOptions opts;
  opts.log_dir = dir_;
  opts.name = "cli-" + args.at(0) + "-" + std::to_string(++g_counter);
  return test::run_process(mediaxd_bin(), all, opts, 60s);
}

std::string Daemon::create_api_key(const std::string& name, const std::string& role) const {
  auto r = run_cli({"create-api-key", "--name", name, "--role", role});
  require(r.exit_code == 0,
          "mediaxd create-api-key exited with " + std::to_string(r.exit_code) + "\nstderr:\n" + tail_lines(r.err));
  std::string key = r.out;
  while (!key.empty() && (key.back() == '\n' || key.back() == '\r')) key.pop_back();
  require(key.rfind("mxk_", 0) == 0 && key.find('\n') == std::string::npos,
          "create-api-key printed something else than one key (" + std::to_string(r.out.size()) + " bytes)");
  return key;
}

HttpResult Daemon::request(const std::string& method, const std::string& path, const std::string& key,
                           const std::string& body, const std::string& content_type) const {
  test::HttpHeaders headers;
  if (!key.empty()) headers.emplace_back("Authorization", "Bearer " + key);
  if (base_.rfind("https://", 0) != 0) return test::http_request(method, url(path), body, content_type, headers);
  // https (the TLS test): the test client only speaks http, so talk to the daemon directly.
  const auto port = std::stoi(base_.substr(base_.rfind(':') + 1));
  httplib::SSLClient cli("127.0.0.1", port);
  cli.enable_server_certificate_verification(false);
  cli.set_connection_timeout(5, 0);
  cli.set_read_timeout(30, 0);
  httplib::Headers h;
  for (const auto& [k, v] : headers) h.emplace(k, v);
  httplib::Result res = method == "GET"    ? cli.Get(path.c_str(), h)
                        : method == "POST" ? cli.Post(path.c_str(), h, body, content_type.c_str())
                                           : cli.Delete(path.c_str(), h);
  HttpResult out;
  if (!res) {
    out.error = httplib::to_string(res.error());
    return out;
  }
  out.status = res->status;
  out.body = res->body;
  for (const auto& [k, v] : res->headers) {
    std::string lower = k;
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out.headers[lower] = v;
  }
  return out;
}

HttpResult Daemon::get(const std::string& path) const { return request("GET", path, api_key_); }
HttpResult Daemon::post(const std::string& path, const json& body) const {
  return request("POST", path, api_key_, body.dump(), "application/json");
}
HttpResult Daemon::post_raw(const std::string& path, const std::string& body, const std::string& content_type) const {
  return request("POST", path, api_key_, body, content_type);
}
HttpResult Daemon::del(const std::string& path) const { return request("DELETE", path, api_key_); }

// ---------------------------------------------------------------------------------------------
// Fake OAuth 2.0 server

FakeOAuth2::FakeOAuth2(const Flags& flags, const std::string& dir) : flags_(flags) {
  std::vector<std::string> args{"--port", "0", "--expires-in", std::to_string(flags.expires_in)};
  if (flags.rotate_refresh) args.push_back("--rotate-refresh");
  if (flags.iss_response) args.push_back("--iss-response");
  if (flags.latency_ms > 0) {
    args.push_back("--latency-ms");
    args.push_back(std::to_string(flags.latency_ms));
  }
  if (!flags.issuer_path.empty()) {
    args.push_back("--issuer-path");
    args.push_back(flags.issuer_path);
  }
  test::ProcessOptions opts;
  opts.log_dir = dir;
  opts.name = "fake-oauth2-" + std::to_string(++g_counter);
  proc_ = std::make_unique<test::Process>(fake_bin(), args, opts);
  base_ = "http://127.0.0.1:" + std::to_string(proc_->wait_for_listening(20s));
}

void FakeOAuth2::register_client(const std::string& id, const std::string& secret, const std::string& auth_method,
                                 const std::vector<std::string>& redirect_uris) const {
  json body{
      {"client_id", id}, {"client_secret", secret}, {"auth_method", auth_method}, {"redirect_uris", redirect_uris}};
  auto r = test::http_post_json(base_ + "/_fake/clients", body);
  require(r.status == 201, "fake: client registration failed: " + r.describe());
}

json FakeOAuth2::stats() const {
  auto r = test::http_get(base_ + "/_fake/stats");
  require(r.status == 200, "fake: stats failed: " + r.describe());
  return r.json();
}

std::int64_t FakeOAuth2::stat(const std::string& name) const { return stats().at(name).get<std::int64_t>(); }

std::int64_t FakeOAuth2::refreshes_of(const std::string& account) const {
  return stats()["refreshes_by_account"].value(account, std::int64_t{0});
}

void FakeOAuth2::fail(const json& spec) const {
  auto r = test::http_post_json(base_ + "/_fake/fail", spec);
  require(r.status == 200, "fake: failure injection refused: " + r.describe());
}

bool FakeOAuth2::token_active(const std::string& access_token) const {
  auto r = test::http_get(base_ + "/_fake/introspect?token=" + test::url_encode(access_token));
  require(r.status == 200, "fake: introspect failed: " + r.describe());
  return r.json().value("active", false);
}

std::vector<std::string> FakeOAuth2::secrets() const {
  std::vector<std::string> out;
  auto r = test::http_get(base_ + "/_fake/secrets");
  if (r.status != 200) return out;
  const json all = r.json();
  if (!all.is_object()) return out;
  for (const auto& [kind, list] : all.items()) {
    for (const auto& s : list) out.push_back(s.get<std::string>());
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Database

std::optional<TokenRow> published_token(const std::string& db_url, const std::string& app,
                                        std::optional<std::int64_t> grant_id) {
  pqxx::connection c(db_url);
  pqxx::nontransaction tx(c);
  pqxx::result r = grant_id
                       ? tx.exec_params(
                             "SELECT access_token, grant_id, account_id, expires_at::text FROM mediax.access_tokens "
                             "WHERE app_name = $1 AND grant_id = $2",
                             app, *grant_id)
                       : tx.exec_params(
                             "SELECT access_token, grant_id, account_id, expires_at::text FROM mediax.access_tokens "
                             "WHERE app_name = $1 AND grant_id IS NULL",
                             app);
  if (r.empty()) return std::nullopt;
  require(r.size() == 1, "mediax.access_tokens has " + std::to_string(r.size()) + " rows for one key");
  TokenRow row;
  row.access_token = r[0][0].as<std::string>();
  if (!r[0][1].is_null()) row.grant_id = r[0][1].as<std::int64_t>();
  row.account_id = r[0][2].is_null() ? "" : r[0][2].as<std::string>();
  row.expires_at = r[0][3].is_null() ? "" : r[0][3].as<std::string>();
  return row;
}

std::int64_t count_published(const std::string& db_url, const std::string& app) {
  pqxx::connection c(db_url);
  pqxx::nontransaction tx(c);
  return tx.exec_params("SELECT count(*) FROM mediax.access_tokens WHERE app_name = $1", app)[0][0].as<std::int64_t>();
}

// ---------------------------------------------------------------------------------------------
// Fixture

void E2ETest::SetUp() {
  dir_ = test::make_temp_dir("mediax-e2e");
  std::string extra_config = prepare_daemon_config();
  std::string db_url = cluster().create_database(database_name());
  daemon_ = std::make_unique<Daemon>(db_url, dir_, extra_config);
}

std::vector<std::string> secrets_in(const std::string& text, const std::set<std::string>& secrets) {
  // One pass over the text per distinct secret length with a hash lookup of each window: a soak
  // test knows ~10^5 tokens and its logs run to megabytes, too many for a find() per secret.
  std::map<std::size_t, std::unordered_set<std::string_view>> by_length;
  for (const auto& s : secrets) {
    if (s.size() >= 8) by_length[s.size()].insert(s);
  }
  std::vector<std::string> found;
  const std::string_view all(text);
  for (const auto& [len, set] : by_length) {
    for (std::size_t i = 0; i + len <= all.size(); ++i) {
      if (auto it = set.find(all.substr(i, len)); it != set.end()) {
        if (std::find(found.begin(), found.end(), *it) == found.end()) found.emplace_back(*it);
      }
    }
  }
  return found;
}

std::set<std::string> E2ETest::known_secrets() const {
  std::set<std::string> all = secrets_;
  if (daemon_) all.insert(daemon_->api_key());
  for (const auto& f : fakes_) {
    for (auto& s : f->secrets()) all.insert(s);
  }
  return all;
}

void E2ETest::TearDown() {
  if (daemon_) {
    daemon_->stop();
    const std::string log = daemon_->log();
    std::set<std::string> all = secrets_;
    all.insert(daemon_->api_key());
    for (const auto& f : fakes_) {
      for (auto& s : f->secrets()) all.insert(s);
    }
    for (const auto& s : secrets_in(log, all)) {
      ADD_FAILURE() << "the daemon's log contains a code, token or secret (" << s.substr(0, 4) << "..., " << s.size()
                    << " characters)";
    }
    if (HasFailure()) {
      std::cerr << "---- mediaxd log (" << dir_ << ") ----\n" << tail_lines(log) << "---- end of mediaxd log ----\n";
    }
  }
  daemon_.reset();
  fakes_.clear();
  if (!HasFailure() && !dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

FakeOAuth2& E2ETest::start_fake(const FakeOAuth2::Flags& flags) {
  fakes_.push_back(std::make_unique<FakeOAuth2>(flags, dir_));
  return *fakes_.back();
}

void E2ETest::remember_secret(const std::string& s) {
  if (!s.empty()) secrets_.insert(s);
}

json E2ETest::register_fake_app(FakeOAuth2& fake, const std::string& name, const std::string& auth_method,
                                bool discovery, bool client_credentials) {
  std::string client_id = random_hex("cid-", 12);
  std::string secret = random_hex("csec-", 32);
  remember_secret(secret);
  fake.register_client(client_id, secret, auth_method, {daemon().callback_url(name)});
  json body{{"name", name},
            {"platform", "oauth2"},
            {"client_id", client_id},
            {"client_secret", secret},
            {"scopes", {"openid", "profile"}},
            {"client_credentials", client_credentials},
            {"token_auth_method", auth_method}};
  if (discovery) {
    body["issuer"] = fake.issuer();
  } else {
    body["endpoints"] = {{"authorize_url", fake.issuer() + "/authorize"},
                         {"token_url", fake.issuer() + "/token"},
                         {"revocation_url", fake.issuer() + "/revoke"}};
  }
  auto r = daemon().post("/v1/apps", body);
  require(r.status == 201, "POST /v1/apps: " + r.describe());
  require(r.body.find(secret) == std::string::npos, "the app JSON contains the client secret");
  return r.json();
}

std::string Browser::open_link(const std::string& connect_url) {
  const auto at = connect_url.find("/connect/start?ticket=");
  require(at != std::string::npos, "not a connect link: " + connect_url);
  // Raw, as a browser reads it: the test HTTP client (cpp-httplib) percent-decodes Location, which
  // would spoil a platform URL with an encoded redirect_uri (WeChat's third-party platform).
  const std::string answer = raw_exchange(connect_url.substr(0, at), "GET " + connect_url.substr(at) +
                                                                         " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  require(answer.rfind("HTTP/1.1 302 ", 0) == 0, "GET the connect link: " + answer.substr(0, 2000));
  auto header = [&](const std::string& name) {
    std::string lower = answer.substr(0, answer.find("\r\n\r\n"));
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
    const auto p = lower.find("\r\n" + name + ":");
    if (p == std::string::npos) return std::string();
    auto v = p + 2 + name.size() + 1;
    while (v < answer.size() && answer[v] == ' ') ++v;
    return answer.substr(v, answer.find("\r\n", v) - v);
  };
  const std::string set_cookie = header("set-cookie");
  require(set_cookie.rfind("__Host-mediax_connect=", 0) == 0 &&
              set_cookie.find("; Path=/; Secure; HttpOnly; SameSite=Lax") != std::string::npos,
          "the connect link set no __Host-mediax_connect cookie: " + set_cookie);
  cookie_ = set_cookie.substr(0, set_cookie.find(';'));
  return header("location");
}

BrowserCallback Browser::authorize(const std::string& platform_url, const std::string& callback_prefix) const {
  // A browser keeps the fragment (WeChat's #wechat_redirect) to itself.
  auto fr = test::http_get(platform_url.substr(0, platform_url.find('#')));
  require(fr.status == 302, "the platform did not redirect (" + platform_url + "): " + fr.describe());
  std::string location = fr.header("location");
  require(location.rfind(callback_prefix, 0) == 0, "the platform redirected elsewhere: " + location);
  return {location, cookie_};
}

HttpResult visit(const BrowserCallback& cb) {
  test::HttpHeaders headers;
  if (!cb.cookie.empty()) headers.emplace_back("Cookie", cb.cookie);
  return test::http_get(cb.url, headers);
}

std::string E2ETest::connect_link(const std::string& app, const json& body) {
  auto r = daemon().post("/v1/apps/" + app + "/authorize", body);
  require(r.status == 200, "POST /v1/apps/" + app + "/authorize: " + r.describe());
  json j = r.json();
  require(j.contains("connect_url") && j["connect_url"].is_string(), "no connect_url in " + r.body);
  require(!j.contains("authorize_url"), "the API hands out a URL to the platform: " + r.body);
  remember_secret(j["connect_url"].get<std::string>().substr(j["connect_url"].get<std::string>().find('=') + 1));
  return j["connect_url"].get<std::string>();
}

std::string E2ETest::platform_url(const std::string& app, const json& body) {
  Browser browser;
  return browser.open_link(connect_link(app, body));
}

BrowserCallback E2ETest::authorize_at_fake(const std::string& app, const std::string& login,
                                           const std::string& extra_query) {
  Browser browser;
  std::string url = test::add_query_param(browser.open_link(connect_link(app)), "login_hint", login);
  if (!extra_query.empty()) url += "&" + extra_query;
  BrowserCallback cb = browser.authorize(url, daemon().callback_url());
  remember_secret(cb.cookie.substr(cb.cookie.find('=') + 1));
  if (auto code = test::query_param(cb.url, "code")) remember_secret(*code);
  return cb;
}

std::int64_t E2ETest::connect(const std::string& app, const std::string& login) {
  auto r = visit(authorize_at_fake(app, login));
  require(r.status == 200, "GET /oauth/callback: " + r.describe());
  require(r.body.find("Connected") != std::string::npos, "the callback page does not say Connected: " + r.body);
  json list = grants(app);
  for (const auto& g : list) {
    if (g.value("account_id", "") == login) return as_id(g.at("id"));
  }
  require(list.size() == 1, "cannot tell which grant is " + login + "'s: " + list.dump());
  return as_id(list[0].at("id"));
}

json E2ETest::grant(std::int64_t id) {
  auto r = daemon().get("/v1/grants/" + std::to_string(id));
  require(r.status == 200, "GET /v1/grants/" + std::to_string(id) + ": " + r.describe());
  return r.json();
}

json E2ETest::grants(const std::string& app) {
  auto r = daemon().get("/v1/apps/" + app + "/grants");
  require(r.status == 200, "GET /v1/apps/" + app + "/grants: " + r.describe());
  json j = r.json();
  require(j.contains("grants") && j["grants"].is_array(), "no grants array in " + r.body);
  return j["grants"];
}

}  // namespace mediax::e2e
