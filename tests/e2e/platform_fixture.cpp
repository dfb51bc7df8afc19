#include "platform_fixture.hpp"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <cstdlib>
#include <stdexcept>

namespace mediax::e2e {

namespace {

std::string bio_text(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<std::size_t>(n));
}

}  // namespace

std::string fake_platforms_bin() { return built_program("MEDIAX_FAKE_PLATFORMS_BIN", "mediax-fake-platforms"); }

FakePlatformServer::FakePlatformServer(const std::string& platform, const std::vector<std::string>& args,
                                       const std::string& dir) {
  std::vector<std::string> all{"--platform", platform, "--port", "0"};
  all.insert(all.end(), args.begin(), args.end());
  test::ProcessOptions opts;
  opts.log_dir = dir;
  opts.name = "fake-" + platform;
  proc_ = std::make_unique<test::Process>(fake_platforms_bin(), all, opts);
  base_ = "http://127.0.0.1:" + std::to_string(proc_->wait_for_listening(std::chrono::seconds(20)));
}

json FakePlatformServer::control(const std::string& path, const json& body, int expect_status) const {
  auto r = test::http_post_json(base_ + path, body);
  require(r.status == expect_status, "fake " + path + ": " + r.describe());
  return r.json();
}

json FakePlatformServer::stats() const {
  auto r = test::http_get(base_ + "/_fake/stats");
  require(r.status == 200, "fake stats: " + r.describe());
  return r.json();
}

std::int64_t FakePlatformServer::stat(const std::string& name) const { return stats().value(name, std::int64_t{0}); }

std::int64_t FakePlatformServer::stat_in(const std::string& map, const std::string& key) const {
  json s = stats();
  if (!s.contains(map) || !s[map].is_object()) return 0;
  return s[map].value(key, std::int64_t{0});
}

void FakePlatformServer::fail(const json& spec) const { control("/_fake/fail", spec, 200); }

json FakePlatformServer::introspect(const std::string& token) const {
  auto r = test::http_get(base_ + "/_fake/introspect?token=" + test::url_encode(token));
  require(r.status == 200, "fake introspect: " + r.describe());
  return r.json();
}

bool FakePlatformServer::token_active(const std::string& token) const {
  return introspect(token).value("active", false);
}

std::vector<std::string> FakePlatformServer::secrets() const {
  std::vector<std::string> out;
  auto r = test::http_get(base_ + "/_fake/secrets");
  if (r.status != 200) return out;
  const json all = r.json();  // items() of a temporary would dangle
  if (!all.is_object()) return out;
  for (const auto& [kind, list] : all.items()) {
    for (const auto& s : list) out.push_back(s.get<std::string>());
  }
  return out;
}

RsaKey make_rsa_key() {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_RSA_gen(2048), EVP_PKEY_free);
  require(key != nullptr, "RSA key generation failed");
  std::unique_ptr<BIO, decltype(&BIO_free)> priv(BIO_new(BIO_s_mem()), BIO_free);
  std::unique_ptr<BIO, decltype(&BIO_free)> pub(BIO_new(BIO_s_mem()), BIO_free);
  require(PEM_write_bio_PKCS8PrivateKey(priv.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) == 1 &&
              PEM_write_bio_PUBKEY(pub.get(), key.get()) == 1,
          "PEM encoding failed");
  return RsaKey{bio_text(priv.get()), bio_text(pub.get())};
}

std::string PlatformE2ETest::prepare_daemon_config() {
  fake_ = std::make_unique<FakePlatformServer>(platform_, fake_args_, dir_);
  const std::string& b = fake_->base();
  if (platform_ == "douyin") return "[platforms.douyin]\nbase_url = \"" + b + "\"\n";
  if (platform_ == "wechat") {
    return "[platforms.wechat]\nopen_base_url = \"" + b + "\"\napi_base_url = \"" + b + "\"\n";
  }
  return "[platforms.google]\nauth_url = \"" + b + "/o/oauth2/v2/auth\"\ntoken_url = \"" + b +
         "/token\"\nrevoke_url = \"" + b + "/revoke\"\njwks_url = \"" + b + "/oauth2/v3/certs\"\nissuer = \"" + b +
         "\"\n";
}

void PlatformE2ETest::TearDown() {
  if (fake_) {
    for (const auto& s : fake_->secrets()) remember_secret(s);
  }
  E2ETest::TearDown();
  fake_.reset();
}

json PlatformE2ETest::register_app(const json& body) {
  if (body.contains("client_secret") && body["client_secret"].is_string()) {
    remember_secret(body["client_secret"].get<std::string>());
  }
  auto r = daemon().post("/v1/apps", body);
  require(r.status == 201, "POST /v1/apps: " + r.describe());
  if (body.contains("client_secret") && body["client_secret"].is_string()) {
    require(r.body.find(body["client_secret"].get<std::string>()) == std::string::npos,
            "the app JSON contains the client secret");
  }
  return r.json();
}

BrowserCallback PlatformE2ETest::authorize_at_platform(const std::string& app, const std::string& login) {
  Browser browser;
  std::string url = browser.open_link(connect_link(app));
  require(url.rfind(fake_->base(), 0) == 0, "the connect link does not lead to the fake: " + url);
  url = url.substr(0, url.find('#'));  // the browser keeps WeChat's #wechat_redirect to itself
  BrowserCallback cb = browser.authorize(test::add_query_param(url, "login_hint", login), daemon().callback_url());
  remember_secret(cb.cookie.substr(cb.cookie.find('=') + 1));
  if (auto code = test::query_param(cb.url, "code")) remember_secret(*code);
  return cb;
}

std::int64_t PlatformE2ETest::connect_account(const std::string& app, const std::string& login,
                                              const std::string& account_id) {
  auto r = visit(authorize_at_platform(app, login));
  require(r.status == 200, "GET /oauth/callback: " + r.describe());
  require(r.body.find("Connected") != std::string::npos, "the callback page does not say Connected: " + r.body);
  for (const auto& g : grants(app)) {
    if (g.value("account_id", "") == account_id) return as_id(g.at("id"));
  }
  throw std::runtime_error("no grant for account " + account_id + " in " + grants(app).dump());
}

std::string PlatformE2ETest::published(const std::string& app, std::optional<std::int64_t> grant_id) {
  auto row = published_token(daemon().db_url(), app, grant_id);
  if (!row) return "";
  remember_secret(row->access_token);
  return row->access_token;
}

}  // namespace mediax::e2e
