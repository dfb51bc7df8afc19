// The whole life of a WeChat third-party platform (wechat_component) against the fake open platform
// (tests/fakes/platforms/wechat_component_fake.cpp), with lifetimes of seconds:
// registered → waiting_for_ticket → the fake pushes an encrypted ticket to the event URL → the
// component token is the app token → an account connects through the authorization page and the
// redirect (and the `authorized` event that follows is answered `success` without a second grant) →
// another connects through the event alone → authorizer tokens refresh → `updateauthorized` changes
// the scopes → a lost refresh token is recovered (on demand and automatically) → `unauthorized`
// revokes the grant at once (token gone, webhook grant.revoked). Forged, tampered and replayed pushes
// are refused and change nothing. At TearDown no secret, ticket, code or token the fake knows may be
// in the daemon's log.
#include <httplib.h>
#include <pqxx/pqxx>

#include <mutex>
#include <thread>

#include "crypto/wechat_msg_crypt.hpp"
#include "platform_fixture.hpp"
#include "platforms/wechat_component_events.hpp"

namespace mediax::e2e {
namespace {

// Takes webhooks and keeps their bodies.
class HookSink {
 public:
  HookSink() {
    server_.Post("/hook", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard lk(mu_);
      got_.push_back(json{{"event", req.get_header_value("X-Mediax-Event")}, {"body", req.body}});
      res.set_content("ok", "text/plain");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~HookSink() {
    server_.stop();
    if (thread_.joinable()) thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/hook"; }
  std::vector<json> received() const {
    std::lock_guard lk(mu_);
    return got_;
  }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  mutable std::mutex mu_;
  std::vector<json> got_;
};

class WeChatComponentE2E : public PlatformE2ETest {
 protected:
  WeChatComponentE2E() {
    platform_ = "wechat_component";
    // Authorizer tokens live 6 s (refreshed every ~3 s), component tokens 10 s.
    fake_args_ = {"--expires-in", "6", "--client-expires-in", "10"};
  }

  std::string prepare_daemon_config() override {
    fake_ = std::make_unique<FakePlatformServer>(platform_, fake_args_, dir_);
    const std::string& b = fake_->base();
    return "[platforms.wechat]\nopen_base_url = \"" + b + "\"\napi_base_url = \"" + b + "\"\nmp_base_url = \"" + b +
           "\"\nevent_max_age_seconds = 60\n\n"
           "[webhook]\nmax_attempts = 5\nretry_min_seconds = 1\nretry_max_seconds = 4\ntimeout_ms = 2000\n"
           "poll_seconds = 1\n";
  }

  void SetUp() override {
    PlatformE2ETest::SetUp();
    component_appid_ = random_hex("wxc", 15);
    secret_ = random_hex("compsec-", 32);
    message_token_ = random_hex("Tok", 20);
    // 43 characters of the base64 alphabet, as the open platform generates them.
    aes_key_ = random_hex("K", 42);
    for (const auto& s : {secret_, message_token_, aes_key_}) remember_secret(s);
  }

  std::string events_path(const std::string& app = "wxcomp") const { return "/wechat/component/" + app + "/events"; }

  json app_json() {
    auto r = daemon().get("/v1/apps/wxcomp");
    require(r.status == 200, "GET /v1/apps/wxcomp: " + r.describe());
    return r.json();
  }

  std::optional<json> grant_of(const std::string& account) {
    for (const auto& g : grants("wxcomp")) {
      if (g.value("account_id", "") == account) return g;
    }
    return std::nullopt;
  }

  // A push built as WeChat builds one; `tamper` may change it before it is sent.
  struct Push {
    std::map<std::string, std::string> query;
    std::string body;
  };
  Push make_push(const std::string& inner, std::int64_t timestamp, const std::string& receive_id) const {
    const std::string enc = wxcrypt::encrypt(*wxcrypt::aes_key(aes_key_), inner, receive_id);
    const std::string ts = std::to_string(timestamp);
    Push p;
    p.body = wechat_component::push_envelope(component_appid_, enc);
    p.query = {{"timestamp", ts},
               {"nonce", "20240101"},
               {"encrypt_type", "aes"},
               {"msg_signature", wxcrypt::signature(message_token_, ts, "20240101", enc)}};
    return p;
  }
  test::HttpResult send(const Push& p, const std::string& app = "wxcomp") {
    std::string q;
    for (const auto& [k, v] : p.query) q += (q.empty() ? "?" : "&") + k + "=" + test::url_encode(v);
    return test::http_post_raw(daemon().url(events_path(app) + q), p.body, "text/xml");
  }
  std::string ticket_xml(const std::string& ticket) const {
    return "<xml><AppId><![CDATA[" + component_appid_ + "]]></AppId><CreateTime>" + std::to_string(unix_now()) +
           "</CreateTime><InfoType><![CDATA[component_verify_ticket]]></InfoType><ComponentVerifyTicket><![CDATA[" +
           ticket + "]]></ComponentVerifyTicket></xml>";
  }
  static std::int64_t unix_now() {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
  }

  std::string app_token_usage() {
    pqxx::connection c(daemon().db_url());
    pqxx::nontransaction tx(c);
    auto r = tx.exec_params("SELECT token_usage FROM mediax.access_tokens WHERE app_name = $1 AND grant_id IS NULL",
                            std::string("wxcomp"));
    return r.empty() ? "" : r[0][0].as<std::string>();
  }

  std::string component_appid_, secret_, message_token_, aes_key_;
};

TEST_F(WeChatComponentE2E, WholeLifeFromTicketToUnauthorized) {
  HookSink hooks;
  const std::string hook_secret = random_hex("whsec-", 32);
  remember_secret(hook_secret);

  // 1. Registered: the secrets are sealed and never shown; no ticket yet, so no token and no loop.
  json app = register_app({{"name", "wxcomp"},
                           {"platform", "wechat_component"},
                           {"client_id", component_appid_},
                           {"client_secret", secret_},
                           {"options", {{"message_token", message_token_}, {"encoding_aes_key", aes_key_}}}});
  for (const auto& s : {message_token_, aes_key_}) EXPECT_EQ(app.dump().find(s), std::string::npos) << app.dump();
  auto put = daemon().request("PUT", "/v1/apps/wxcomp/webhook", daemon().api_key(),
                              json{{"url", hooks.url()}, {"secret", hook_secret}}.dump(), "application/json");
  ASSERT_EQ(put.status, 200) << put.describe();
  ASSERT_TRUE(eventually([&] { return app_json().value("waiting_for_ticket", false); }, 10s)) << app_json().dump(2);
  EXPECT_TRUE(app_json()["component_ticket_at"].is_null()) << app_json().dump(2);
  EXPECT_EQ(published("wxcomp"), "");

  // 2. Forged, tampered and replayed pushes are refused and store nothing.
  const std::string forged_ticket = random_hex("ticket@@@forged", 20);
  remember_secret(forged_ticket);
  {
    Push p = make_push(ticket_xml(forged_ticket), unix_now(), component_appid_);
    p.query["msg_signature"] = wxcrypt::signature("not-the-token", p.query["timestamp"], "20240101", "x");
    EXPECT_EQ(send(p).status, 403) << "bad signature";
    Push old = make_push(ticket_xml(forged_ticket), unix_now() - 3600, component_appid_);
    EXPECT_EQ(send(old).status, 403) << "a replay an hour old";
    Push other = make_push(ticket_xml(forged_ticket), unix_now(), "wx_someone_else");
    EXPECT_EQ(send(other).status, 403) << "another appid at the end of the plaintext";
    Push bare = make_push(ticket_xml(forged_ticket), unix_now(), component_appid_);
    bare.query.erase("msg_signature");
    EXPECT_EQ(send(bare).status, 400) << "no msg_signature";
    Push junk = make_push(ticket_xml(forged_ticket), unix_now(), component_appid_);
    junk.body = "not xml";
    EXPECT_EQ(send(junk).status, 400) << "not the XML envelope";
    EXPECT_EQ(send(make_push(ticket_xml(forged_ticket), unix_now(), component_appid_), "nosuchapp").status, 404);
  }
  std::this_thread::sleep_for(500ms);
  EXPECT_TRUE(app_json().value("waiting_for_ticket", false)) << app_json().dump(2);
  EXPECT_TRUE(app_json()["component_ticket_at"].is_null());
  EXPECT_EQ(published("wxcomp"), "");

  // 3. The open platform starts pushing tickets; the component token follows within seconds.
  fake().control("/_fake/component/config",
                 {{"component_appid", component_appid_},
                  {"component_appsecret", secret_},
                  {"message_token", message_token_},
                  {"encoding_aes_key", aes_key_},
                  {"event_url", daemon().url(events_path())},
                  {"ticket_interval_seconds", 5},
                  {"push_retry_delay_ms", 300},
                  {"event_push_delay_ms", 1500}},
                 200);
  std::string component_token;
  ASSERT_TRUE(eventually([&] { return !(component_token = published("wxcomp")).empty(); }, 15s))
      << app_json().dump(2) << "\nfake: " << fake().stats().dump();
  EXPECT_EQ(fake().introspect(component_token).value("kind", ""), "component");
  EXPECT_TRUE(fake().token_active(component_token));
  EXPECT_EQ(app_token_usage(), "query:component_access_token");
  EXPECT_FALSE(app_json().value("waiting_for_ticket", true)) << app_json().dump(2);
  EXPECT_TRUE(app_json()["component_ticket_at"].is_string()) << app_json().dump(2);

  // A real push captured and sent again with another timestamp no longer matches its signature.
  {
    json last = test::http_get(fake().base() + "/_fake/component/last_push").json();
    std::string url = last.value("url", "");
    ASSERT_NE(url.find("msg_signature="), std::string::npos) << last.dump();
    const std::string ts = test::query_param(url, "timestamp").value_or("");
    std::string moved = url;
    moved.replace(moved.find("timestamp=" + ts), 10 + ts.size(), "timestamp=" + std::to_string(std::stoll(ts) - 1));
    EXPECT_EQ(test::http_post_raw(moved, last.value("body", ""), "text/xml").status, 403);
  }

  // 4. An account connects on the PC page; the browser comes back with auth_code (no state of WeChat's own).
  fake().control("/_fake/component/next_authorizer", {{"authorizer_appid", "wx_acct_1"}, {"func_ids", {1, 15, 18}}},
                 200);
  Browser browser;
  std::string url = browser.open_link(connect_link("wxcomp"));
  ASSERT_EQ(url.rfind(fake().base() + "/cgi-bin/componentloginpage?", 0), 0u) << url;
  const auto callback = browser.authorize(url, daemon().callback_url("wxcomp"));
  ASSERT_TRUE(test::query_param(callback.url, "auth_code").has_value()) << callback.url;
  auto back = visit(callback);
  ASSERT_EQ(back.status, 200) << back.describe();
  auto g1 = grant_of("wx_acct_1");
  ASSERT_TRUE(g1.has_value()) << grants("wxcomp").dump(2);
  const std::int64_t id1 = as_id(g1->at("id"));
  EXPECT_EQ(g1->at("scopes"), json::array({"1", "15", "18"})) << g1->dump();
  std::string t1 = published("wxcomp", id1);
  ASSERT_FALSE(t1.empty());
  EXPECT_EQ(fake().introspect(t1).value("authorizer_appid", ""), "wx_acct_1");
  // The `authorized` event carrying the same (now used) code is answered `success`, without a second grant.
  ASSERT_TRUE(eventually(
      [&] {
        const json s = fake().stats();
        return s.contains("pushes") && s["pushes"].value("authorized", 0) >= 1 &&
               s.value("push_attempts", 0) == s.value("pushes_delivered", 0);
      },
      10s))
      << fake().stats().dump();
  EXPECT_EQ(grants("wxcomp").size(), 1u) << grants("wxcomp").dump(2);

  // 5. Another account (a Mini Program, mobile link) connects; its browser never comes back: the event does it.
  fake().control("/_fake/component/next_authorizer",
                 {{"authorizer_appid", "wx_acct_2"}, {"func_ids", {17, 18}}, {"service_type", "mini"}}, 200);
  url = platform_url("wxcomp", {{"mobile", true}, {"auth_type", 2}});
  EXPECT_NE(url.find("/safe/bindcomponent?"), std::string::npos) << url;
  EXPECT_EQ(url.substr(url.size() - 16), "#wechat_redirect") << url;
  auto page = test::http_get(url.substr(0, url.find('#')));
  ASSERT_EQ(page.status, 302) << page.describe();
  ASSERT_TRUE(eventually([&] { return grant_of("wx_acct_2").has_value(); }, 10s)) << grants("wxcomp").dump(2);
  EXPECT_EQ(grant_of("wx_acct_2")->at("scopes"), json::array({"17", "18"}));

  // 6. Authorizer tokens are refreshed before they expire, more than once.
  ASSERT_TRUE(eventually([&] { return fake().stat_in("refreshes_by_account", "wx_acct_1") >= 2; }, 20s))
      << fake().stats().dump();
  std::string t1b = published("wxcomp", id1);
  EXPECT_NE(t1b, t1);
  EXPECT_TRUE(fake().token_active(t1b));

  // 7. updateauthorized: the account changed its permission sets.
  fake().control("/_fake/component/update", {{"authorizer_appid", "wx_acct_1"}, {"func_ids", {1, 15}}}, 200);
  ASSERT_TRUE(eventually([&] { return grant(id1)["scopes"] == json::array({"1", "15"}); }, 10s)) << grant(id1).dump(2);
  EXPECT_EQ(grants("wxcomp").size(), 2u);

  // 8. The refresh token the daemon holds stops working (61023): recovered on demand ...
  fake().control("/_fake/component/lose_refresh_token", {{"authorizer_appid", "wx_acct_1"}}, 200);
  auto rec = daemon().post("/v1/grants/" + std::to_string(id1) + "/recover");
  ASSERT_EQ(rec.status, 200) << rec.describe();
  EXPECT_EQ(grant(id1).value("status", ""), "active");
  EXPECT_GE(fake().stat("authorizer_info_calls"), 1);
  // ... and automatically, by the next scheduled refresh.
  const std::int64_t refused_before = fake().stat_in("errors_by_code", "61023");
  const std::int64_t refreshes_before = fake().stat_in("refreshes_by_account", "wx_acct_1");
  fake().control("/_fake/component/lose_refresh_token", {{"authorizer_appid", "wx_acct_1"}}, 200);
  ASSERT_TRUE(eventually(
      [&] {
        return fake().stat_in("errors_by_code", "61023") > refused_before &&
               fake().stat_in("refreshes_by_account", "wx_acct_1") > refreshes_before;
      },
      15s))
      << fake().stats().dump();
  EXPECT_EQ(grant(id1).value("status", ""), "active") << grant(id1).dump(2);
  ASSERT_TRUE(eventually([&] { return fake().token_active(published("wxcomp", id1)); }, 5s));

  // 9. unauthorized: revoked at once, its token leaves the view, a webhook says so.
  fake().control("/_fake/component/unauthorize", {{"authorizer_appid", "wx_acct_1"}}, 200);
  ASSERT_TRUE(eventually([&] { return grant(id1).value("status", "") == "revoked"; }, 10s)) << grant(id1).dump(2);
  EXPECT_EQ(published("wxcomp", id1), "");
  EXPECT_EQ(grant_of("wx_acct_2")->value("status", ""), "active");
  ASSERT_TRUE(eventually(
      [&] {
        for (const auto& h : hooks.received()) {
          if (h.value("event", "") == "grant.revoked" && h.value("body", "").find("wx_acct_1") != std::string::npos)
            return true;
        }
        return false;
      },
      15s))
      << json(hooks.received()).dump(2);

  // Every push the fake sent was answered `success` at the first try.
  ASSERT_TRUE(eventually(
      [&] {
        const json s = fake().stats();
        return s.value("push_attempts", 0) == s.value("pushes_delivered", 0);
      },
      5s));
  EXPECT_EQ(fake().stat("push_deliveries_failed"), 0) << fake().stats().dump();
  EXPECT_GE(fake().stat("component_tokens_issued"), 2) << "the component token was refreshed too";
  EXPECT_GE(fake().stat_in("pushes", "component_verify_ticket"), 2);
  EXPECT_EQ(fake().stat("ticket_refusals"), 0) << fake().stats().dump();
}


// Every component API checks the caller's IP: outside the whitelist, the app token stops (no retry
// loop against WeChat) and says which IP to whitelist.
TEST_F(WeChatComponentE2E, AnIpOutsideTheWhitelistStopsTheAppAndNamesTheIp) {
  register_app({{"name", "wxcomp"},
                {"platform", "wechat_component"},
                {"client_id", component_appid_},
                {"client_secret", secret_},
                {"options", {{"message_token", message_token_}, {"encoding_aes_key", aes_key_}}}});
  // No wait for the first attempt (it fails for want of a ticket): the push may land while it is in
  // flight, and the fetch then runs once more with the ticket (ATicketPushedWhileTheTokenFetchFails…).
  fake().control("/_fake/component/config",
                 {{"component_appid", component_appid_},
                  {"component_appsecret", secret_},
                  {"message_token", message_token_},
                  {"encoding_aes_key", aes_key_},
                  {"event_url", daemon().url(events_path())},
                  {"ip_whitelist", {"192.0.2.10"}}},
                 200);
  ASSERT_TRUE(eventually([&] { return fake().stat_in("errors_by_code", "61004") >= 1; }, 15s)) << fake().stats().dump();
  ASSERT_TRUE(eventually([&] { return app_json().value("last_error", "").find("127.0.0.1") != std::string::npos; }, 5s))
      << app_json().dump(2);
  EXPECT_NE(app_json().value("last_error", "").find("61004"), std::string::npos) << app_json().dump(2);
  EXPECT_EQ(published("wxcomp"), "");
  const std::int64_t refused = fake().stat_in("errors_by_code", "61004");
  std::this_thread::sleep_for(3s);  // several retry intervals of this harness: nothing is asked again
  EXPECT_EQ(fake().stat_in("errors_by_code", "61004"), refused) << "a configuration error is not retried in a loop";
  EXPECT_EQ(fake().stat("pushes_delivered"), fake().stats().value("push_attempts", 0)) << "the ticket was stored";
}

// A ticket pushed while the component token's fetch is at WeChat and about to fail (61006: the
// ticket refused) is used at once: the fetch runs once more with it instead of the failure putting
// the token off until the next push (10 minutes). The fake holds its refusal so the push lands while
// the fetch is in flight.
TEST_F(WeChatComponentE2E, ATicketPushedWhileTheTokenFetchFailsIsUsedAtOnce) {
  register_app({{"name", "wxcomp"},
                {"platform", "wechat_component"},
                {"client_id", component_appid_},
                {"client_secret", secret_},
                {"options", {{"message_token", message_token_}, {"encoding_aes_key", aes_key_}}}});
  ASSERT_TRUE(eventually([&] { return app_json().value("waiting_for_ticket", false); }, 10s)) << app_json().dump(2);
  fake().fail({{"endpoint", "component_token"},
               {"errcode", 61006},
               {"errmsg", "component ticket is invalid"},
               {"delay_ms", 4000}});
  // The first ticket is pushed now, the next ones only after the test.
  fake().control("/_fake/component/config",
                 {{"component_appid", component_appid_},
                  {"component_appsecret", secret_},
                  {"message_token", message_token_},
                  {"encoding_aes_key", aes_key_},
                  {"event_url", daemon().url(events_path())},
                  {"ticket_interval_seconds", 600}},
                 200);
  ASSERT_TRUE(eventually([&] { return fake().stat("failures_injected") >= 1; }, 10s)) << fake().stats().dump();
  // The fetch is held at the fake. The next ticket, a second newer (the newest CreateTime wins):
  std::this_thread::sleep_for(1100ms);
  fake().control("/_fake/component/push_ticket", json::object(), 200);
  ASSERT_TRUE(eventually([&] { return fake().stat("pushes_delivered") >= 2; }, 2s)) << fake().stats().dump();
  // Still in flight when the ticket was stored, or this test shows nothing.
  ASSERT_EQ(app_json().value("last_error", "").find("61006"), std::string::npos) << app_json().dump(2);
  ASSERT_EQ(fake().stat("component_tokens_issued"), 0) << fake().stats().dump();

  std::string token;
  ASSERT_TRUE(eventually([&] { return !(token = published("wxcomp")).empty(); }, 10s))
      << app_json().dump(2) << "\nfake: " << fake().stats().dump();
  EXPECT_EQ(fake().introspect(token).value("kind", ""), "component");
  EXPECT_EQ(fake().stat("component_tokens_issued"), 1) << fake().stats().dump();
  EXPECT_EQ(fake().stat("failures_injected"), 1) << fake().stats().dump();
}

// Issue 18 follow-up: an admin changes the EncodingAESKey in two steps (PUT the new key: the old one
// becomes previous → change it at WeChat → PUT previous null) and resets the AppSecret; pushes keep
// arriving, the app (and so its grants) stays, a token stopped by the old secret is fetched at once.
TEST_F(WeChatComponentE2E, SecretsChangeWithoutLosingPushesOrTheApp) {
  register_app({{"name", "wxcomp"},
                {"platform", "wechat_component"},
                {"client_id", component_appid_},
                {"client_secret", secret_},
                {"options", {{"message_token", message_token_}, {"encoding_aes_key", aes_key_}}}});
  const std::string new_key = random_hex("N", 42), new_secret = random_hex("compsec2-", 32);
  for (const auto& s : {new_key, new_secret}) remember_secret(s);
  auto configure_fake = [&](const std::string& key, const std::string& secret) {
    fake().control("/_fake/component/config",
                   {{"component_appid", component_appid_},
                    {"component_appsecret", secret},
                    {"message_token", message_token_},
                    {"encoding_aes_key", key},
                    {"event_url", daemon().url(events_path())},
                    {"ticket_interval_seconds", 1},
                    {"push_retry_delay_ms", 200}},
                   200);
  };
  auto put_secrets = [&](const json& body) {
    return daemon().request("PUT", "/v1/apps/wxcomp/secrets", daemon().api_key(), body.dump(), "application/json");
  };
  // Pushes go on being taken: `more` deliveries after now, none refused meanwhile.
  auto pushes_keep_arriving = [&](int more) {
    const auto delivered = fake().stat("pushes_delivered"), failed = fake().stat("push_deliveries_failed");
    const bool ok = eventually([&] { return fake().stat("pushes_delivered") >= delivered + more; }, 15s);
    return ok && fake().stat("push_deliveries_failed") == failed;
  };
  // A push of ours with an old CreateTime: it is opened (or refused) but never replaces the real ticket.
  auto old_ticket_push = [&](const std::string& key) {
    const std::string saved = aes_key_;
    aes_key_ = key;
    const std::string inner = "<xml><AppId><![CDATA[" + component_appid_ + "]]></AppId><CreateTime>" +
                              std::to_string(unix_now() - 50) +
                              "</CreateTime><InfoType><![CDATA[component_verify_ticket]]></InfoType>"
                              "<ComponentVerifyTicket><![CDATA[ticket@@@ours]]></ComponentVerifyTicket></xml>";
    const auto status = send(make_push(inner, unix_now(), component_appid_)).status;
    aes_key_ = saved;
    return status;
  };
  configure_fake(aes_key_, secret_);
  ASSERT_TRUE(eventually([&] { return !published("wxcomp").empty(); }, 15s)) << app_json().dump(2);
  const auto created_at = app_json().value("created_at", "");

  // 1. The new key in the daemon first: WeChat still pushes with the old one, now the previous.
  auto r = put_secrets({{"options", {{"encoding_aes_key", new_key}}}});
  ASSERT_EQ(r.status, 200) << r.describe();
  for (const auto& s : {new_key, aes_key_}) EXPECT_EQ(r.body.find(s), std::string::npos) << r.body;
  EXPECT_EQ(r.json().value("created_at", ""), created_at) << "the same app, not a new one";
  EXPECT_TRUE(pushes_keep_arriving(2)) << fake().stats().dump();

  // 2. The key changed at WeChat: pushes come with the new one.
  configure_fake(new_key, secret_);
  EXPECT_TRUE(pushes_keep_arriving(2)) << fake().stats().dump();
  const std::string old_key = aes_key_;
  EXPECT_EQ(old_ticket_push(old_key), 200) << "the previous key is accepted until it is dropped";

  // 3. Done at WeChat: the previous key is dropped and refused from now on.
  r = put_secrets({{"options", {{"previous_encoding_aes_key", nullptr}}}});
  ASSERT_EQ(r.status, 200) << r.describe();
  EXPECT_EQ(old_ticket_push(old_key), 403);
  EXPECT_EQ(old_ticket_push(new_key), 200);
  EXPECT_TRUE(pushes_keep_arriving(1)) << fake().stats().dump();

  // 4. The AppSecret reset at WeChat: the old one is refused (40125) and the app token stops...
  configure_fake(new_key, new_secret);
  daemon().post("/v1/apps/wxcomp/refresh");
  ASSERT_TRUE(eventually([&] { return app_json().value("status", "") == "needs_reauth"; }, 10s)) << app_json().dump(2);
  // ...and the new secret in the daemon fetches it again at once, without a forced refresh.
  const auto issued = fake().stat("component_tokens_issued");
  r = put_secrets({{"client_secret", new_secret}});
  ASSERT_EQ(r.status, 200) << r.describe();
  EXPECT_EQ(r.body.find(new_secret), std::string::npos);
  EXPECT_TRUE(eventually([&] { return fake().stat("component_tokens_issued") > issued; }, 10s)) << app_json().dump(2);
  EXPECT_TRUE(eventually([&] { return app_json().value("status", "") == "active"; }, 5s)) << app_json().dump(2);

  // The events say what changed, never the values.
  pqxx::connection c(daemon().db_url());
  pqxx::nontransaction tx(c);
  std::string details;
  for (const auto& row :
       tx.exec("SELECT detail::text FROM mediax.events WHERE kind = 'app_secrets_changed' ORDER BY id")) {
    details += row[0].as<std::string>() + "\n";
  }
  EXPECT_NE(details.find("options.encoding_aes_key"), std::string::npos) << details;
  EXPECT_NE(details.find("options.previous_encoding_aes_key"), std::string::npos) << details;
  EXPECT_NE(details.find("client_secret"), std::string::npos) << details;
  for (const auto& s : {new_key, old_key, new_secret, secret_})
    EXPECT_EQ(details.find(s), std::string::npos) << details;
}

}  // namespace
}  // namespace mediax::e2e
