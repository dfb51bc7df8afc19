// Per-app webhooks against the running daemon: an in-test receiver (cpp-httplib) checks every
// request's signature the way the README tells receivers to; it fails twice, then accepts, and
// exactly one delivery succeeds after retries with growing gaps. The events come from real
// refreshes the fake OAuth 2.0 server refuses. The secret must never reach the daemon's log
// (the harness checks at TearDown).
#include <httplib.h>
#include <openssl/hmac.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "core/types.hpp"
#include "harness.hpp"

namespace mediax::e2e {
namespace {

using Steady = std::chrono::steady_clock;

// HMAC-SHA256 straight from OpenSSL (not the daemon's crypto helpers), lower-case hex.
std::string hmac_hex(const std::string& key, const std::string& message) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(message.data()),
       message.size(), out, &len);
  static const char* digits = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < len; ++i) {
    hex += digits[out[i] >> 4];
    hex += digits[out[i] & 0xf];
  }
  return hex;
}

struct Received {
  Steady::time_point at;
  std::string event, delivery, timestamp, signature, body;
  bool signature_ok = false;
  int answered = 0;
};

// Answers the first `failures` requests with 500, then 200.
class Receiver {
 public:
  Receiver(std::string secret, int failures) : secret_(std::move(secret)), failures_(failures) {
    server_.Post("/hook", [this](const httplib::Request& req, httplib::Response& res) {
      Received r;
      r.at = Steady::now();
      r.event = req.get_header_value("X-Mediax-Event");
      r.delivery = req.get_header_value("X-Mediax-Delivery");
      r.timestamp = req.get_header_value("X-Mediax-Timestamp");
      r.signature = req.get_header_value("X-Mediax-Signature");
      r.body = req.body;
      // What a receiver does: HMAC over "<timestamp>.<raw body>", compared with the header.
      r.signature_ok = r.signature == "sha256=" + hmac_hex(secret_, r.timestamp + "." + req.body);
      std::lock_guard lk(mu_);
      r.answered = static_cast<int>(got_.size()) < failures_ ? 500 : 200;
      res.status = r.answered;
      res.set_content(r.answered == 200 ? "ok" : "try later", "text/plain");
      got_.push_back(std::move(r));
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~Receiver() {
    server_.stop();
    if (thread_.joinable()) thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/hook"; }
  std::vector<Received> received() const {
    std::lock_guard lk(mu_);
    return got_;
  }

 private:
  std::string secret_;
  int failures_;
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  mutable std::mutex mu_;
  std::vector<Received> got_;
};

class Webhooks : public E2ETest {
 protected:
  std::string prepare_daemon_config() override {
    return "[webhook]\nmax_attempts = 5\nretry_min_seconds = 1\nretry_max_seconds = 8\ntimeout_ms = 2000\n"
           "poll_seconds = 1\n";
  }

  void set_webhook(const std::string& app, const std::string& url, const std::string& secret) {
    auto r = daemon().request("PUT", "/v1/apps/" + app + "/webhook", daemon().api_key(),
                              json{{"url", url}, {"secret", secret}}.dump(), "application/json");
    require(r.status == 200, "PUT webhook: " + r.describe());
    require(r.body.find(secret) == std::string::npos, "the webhook secret came back");
  }

  json webhook_state(const std::string& app) {
    auto r = daemon().get("/v1/apps/" + app + "/webhook");
    require(r.status == 200, "GET webhook: " + r.describe());
    return r.json();
  }
};

TEST_F(Webhooks, NeedsReauthEventIsSignedRetriedWithGrowingGapsAndDeliveredOnce) {
  const std::string secret = random_hex("whsec-", 32);
  remember_secret(secret);
  Receiver receiver(secret, 2);
  FakeOAuth2& fake = start_fake({});
  register_fake_app(fake, "hooked", "client_secret_post");
  set_webhook("hooked", receiver.url(), secret);
  const std::int64_t grant_id = connect("hooked", "gina");

  // The fake refuses the refresh token, as a provider does once it is revoked.
  fake.fail({{"mode", "invalid_grant"}, {"count", 1}, {"grant_type", "refresh_token"}});
  auto r = daemon().post("/v1/grants/" + std::to_string(grant_id) + "/refresh");
  ASSERT_EQ(r.status, 502) << r.describe();

  ASSERT_TRUE(eventually([&] { return receiver.received().size() >= 3; }, 30s))
      << "requests so far: " << receiver.received().size() << "\n"
      << webhook_state("hooked").dump(2);
  ASSERT_TRUE(eventually(
      [&] {
        auto d = webhook_state("hooked")["deliveries"];
        return d.size() == 1 && d[0].value("state", "") == "delivered";
      },
      10s))
      << webhook_state("hooked").dump(2);
  std::this_thread::sleep_for(2500ms);  // longer than the next retry would be: nothing more comes

  const auto got = receiver.received();
  ASSERT_EQ(got.size(), 3u) << "exactly one successful delivery after two failures";
  EXPECT_EQ(got[0].answered, 500);
  EXPECT_EQ(got[1].answered, 500);
  EXPECT_EQ(got[2].answered, 200);
  for (const auto& g : got) {
    EXPECT_TRUE(g.signature_ok) << "bad signature " << g.signature << " over " << g.timestamp << "." << g.body;
    EXPECT_EQ(g.event, "grant.needs_reauth");
    EXPECT_EQ(g.delivery, got[0].delivery) << "one event, one delivery id";
    EXPECT_EQ(g.body, got[0].body) << "the same body every attempt";
    const auto ts = std::stoll(g.timestamp);
    EXPECT_LE(std::llabs(ts - to_unix(SysClock::now())), 60) << g.timestamp;
  }
  const json body = json::parse(got[0].body);
  EXPECT_EQ(body.value("event", ""), "grant.needs_reauth");
  EXPECT_EQ(body.value("app", ""), "hooked");
  EXPECT_EQ(as_id(body["grant_id"]), grant_id);
  EXPECT_EQ(body.value("account_id", ""), "gina");
  EXPECT_EQ(body.value("reason", ""), "invalid_grant");
  EXPECT_TRUE(parse_time(body.value("at", ""))) << body.dump();
  EXPECT_EQ(std::to_string(as_id(body["delivery_id"])), got[0].delivery);
  for (const auto& s : fake.secrets()) EXPECT_EQ(got[0].body.find(s), std::string::npos) << "a token in the event";

  // Backoff: about 1 s, then about 2 s (up to a quarter shorter each, by jitter).
  const auto gap1 = got[1].at - got[0].at, gap2 = got[2].at - got[1].at;
  EXPECT_GE(gap1, 700ms);
  EXPECT_GT(gap2, gap1) << "gaps grow";
  EXPECT_GE(gap2, 1400ms);

  const json state = webhook_state("hooked");
  EXPECT_EQ(state.value("url", ""), receiver.url());
  EXPECT_EQ(state["deliveries"][0].value("attempts", 0), 3);
  EXPECT_EQ(state.dump().find(secret), std::string::npos);

  auto metrics = test::http_get(daemon().url("/metrics"));
  ASSERT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.body.find("mediax_webhook_deliveries_total{outcome=\"delivered\"} 1\n"), std::string::npos)
      << metrics.body;
  EXPECT_NE(metrics.body.find("mediax_webhook_deliveries_total{outcome=\"retry\"} 2\n"), std::string::npos);
}

TEST_F(Webhooks, InvalidClientOnRefreshSendsAppMisconfigured) {
  const std::string secret = random_hex("whsec-", 32);
  remember_secret(secret);
  Receiver receiver(secret, 0);
  FakeOAuth2& fake = start_fake({});
  register_fake_app(fake, "badcreds", "client_secret_basic");
  set_webhook("badcreds", receiver.url(), secret);
  const std::int64_t grant_id = connect("badcreds", "hugo");
  fake.fail({{"mode", "invalid_client"}, {"count", 1}, {"grant_type", "refresh_token"}});
  EXPECT_EQ(daemon().post("/v1/grants/" + std::to_string(grant_id) + "/refresh").status, 502);
  ASSERT_TRUE(eventually([&] { return !receiver.received().empty(); }, 15s));
  const auto got = receiver.received();
  EXPECT_TRUE(got[0].signature_ok);
  EXPECT_EQ(got[0].event, "app.misconfigured");
  const json body = json::parse(got[0].body);
  EXPECT_EQ(body.value("app", ""), "badcreds");
  EXPECT_EQ(body.value("reason", ""), "invalid_client");
}

TEST_F(Webhooks, AdminApiAndMediaxctlSetShowAndRemoveTheWebhookNeverShowingTheSecret) {
  FakeOAuth2& fake = start_fake({});
  const std::string secret = random_hex("whsec-", 32);
  remember_secret(secret);
  remember_secret("csec-hook-0123456789");
  json app{{"name", "withhook"},
           {"platform", "oauth2"},
           {"client_id", "cid-hook"},
           {"client_secret", "csec-hook-0123456789"},
           {"endpoints", {{"authorize_url", fake.issuer() + "/authorize"}, {"token_url", fake.issuer() + "/token"}}}};

  // Refused: the app is not created either.
  json bad = app;
  bad["webhook"] = {{"url", "https://hooks.example/x"}, {"secret", "too-short"}};
  auto r = daemon().post("/v1/apps", bad);
  EXPECT_EQ(r.status, 400) << r.describe();
  EXPECT_EQ(r.json().value("message", "").rfind("webhook.secret:", 0), 0u) << r.body;
  EXPECT_EQ(r.body.find("too-short"), std::string::npos);
  bad["webhook"] = {{"url", "ftp://hooks.example/x"}, {"secret", secret}};
  EXPECT_EQ(daemon().post("/v1/apps", bad).status, 400);
  EXPECT_EQ(daemon().get("/v1/apps/withhook").status, 404);

  app["webhook"] = {{"url", "https://hooks.example/first"}, {"secret", secret}};
  r = daemon().post("/v1/apps", app);
  ASSERT_EQ(r.status, 201) << r.describe();
  EXPECT_EQ(r.json()["webhook"].value("url", ""), "https://hooks.example/first");
  EXPECT_EQ(r.body.find(secret), std::string::npos);
  auto shown = daemon().get("/v1/apps/withhook");
  EXPECT_EQ(shown.json()["webhook"].value("url", ""), "https://hooks.example/first");
  EXPECT_EQ(daemon().get("/v1/apps").json()["apps"][0]["webhook"].value("url", ""), "https://hooks.example/first");

  // mediaxctl: set from a secret file, show, remove.
  const auto ctl_bin = (std::filesystem::path(mediaxd_bin()).parent_path() / "mediaxctl").string();
  const std::string secret_file = dir_ + "/hook-secret";
  std::ofstream(secret_file) << secret << "\n";
  auto ctl = [&](const std::vector<std::string>& args) {
    test::ProcessOptions opts;
    opts.log_dir = dir_;
    opts.name = "mediaxctl-webhook";
    opts.env = {"HOME=" + dir_, "XDG_CONFIG_HOME=" + dir_, "MEDIAX_URL=" + daemon().url(""),
                "MEDIAX_API_KEY=" + daemon().api_key()};
    return test::run_process(ctl_bin, args, opts, 60s);
  };
  auto set = ctl({"webhook", "set", "withhook", "http://127.0.0.1:9/second", "--secret-file", secret_file});
  ASSERT_EQ(set.exit_code, 0) << set.out << set.err;
  auto show = ctl({"apps", "show", "withhook"});
  EXPECT_NE(show.out.find("http://127.0.0.1:9/second"), std::string::npos) << show.out;
  auto hook = ctl({"webhook", "show", "withhook", "--json"});
  ASSERT_EQ(hook.exit_code, 0) << hook.err;
  EXPECT_EQ(json::parse(hook.out).value("url", ""), "http://127.0.0.1:9/second");
  EXPECT_EQ(hook.out.find(secret), std::string::npos);
  auto no_secret = ctl({"webhook", "set", "withhook", "http://127.0.0.1:9/third"});
  EXPECT_EQ(no_secret.exit_code, 2) << no_secret.out;
  auto help = ctl({"webhook", "--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("X-Mediax-Signature"), std::string::npos) << help.out;

  auto rm = ctl({"webhook", "rm", "withhook"});
  EXPECT_EQ(rm.exit_code, 0) << rm.err;
  EXPECT_TRUE(daemon().get("/v1/apps/withhook").json()["webhook"].is_null());
  EXPECT_EQ(daemon().get("/v1/apps/withhook/webhook").status, 404);
  EXPECT_EQ(daemon().del("/v1/apps/withhook/webhook").status, 404);
  EXPECT_EQ(ctl({"webhook", "show", "withhook"}).exit_code, 4);

  // PUT validates like POST.
  auto put = daemon().request("PUT", "/v1/apps/withhook/webhook", daemon().api_key(),
                              json{{"url", "https://hooks.example/x"}, {"secret", secret}, {"extra", 1}}.dump(),
                              "application/json");
  EXPECT_EQ(put.status, 400) << put.describe();
  EXPECT_EQ(daemon()
                .request("PUT", "/v1/apps/nosuchapp/webhook", daemon().api_key(),
                         json{{"url", "https://hooks.example/x"}, {"secret", secret}}.dump(), "application/json")
                .status,
            404);
}

}  // namespace
}  // namespace mediax::e2e
