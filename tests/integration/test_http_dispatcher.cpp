// The Dispatcher (http/dispatcher.hpp) over AdminHandlers on a real store, as the HTTP server calls
// it: answer_now on the event loop, answer on the pool when that says nullopt. Every area of the
// route table, the authorization by the route's Access, the token listener's 404/405, and what
// is answered without the pool.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "admin_services_fixture.hpp"
#include "http/admin_handlers.hpp"
#include "http/dispatcher.hpp"
#include "pg_env.hpp"
#include "http/auth_guard.hpp"
#include "service/api_keys.hpp"
#include "support/manual_time_source.hpp"

namespace mediax::test {
namespace {

using nlohmann::json;

constexpr const char* kAdminKey = "mxk_admin_key_for_dispatcher";
constexpr const char* kReaderKey = "mxk_reader_key_for_dispatcher";

struct Answered {
  HttpResponse res;
  bool now = false;  // answered by answer_now (the event loop)
  json body() const { return json::parse(res.body, nullptr, false); }
};

class DispatcherTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    store_->create_api_key("ops", "admin", hash_api_key(kAdminKey));
    store_->create_api_key("app", "reader", hash_api_key(kReaderKey));
    keys_ = std::make_unique<ApiKeyRegistry>(*store_, clock_);
    keys_->load();
    services_ = std::make_unique<AdminServicesForTest>(*store_);
    handlers_ = std::make_unique<AdminHandlers>(
        services_->services(), AdminConfig{}, [] { return true; }, metrics_,
        std::string(MEDIAX_SOURCE_DIR) + "/admin/web");
    dispatcher_ = std::make_unique<Dispatcher>(*handlers_, keys_.get());
  }

  Answered call(const std::string& method, const std::string& target, const std::string& body = "",
                const std::string& key = kAdminKey, ListenerKind where = ListenerKind::admin,
                std::vector<std::pair<std::string, std::string>> headers = {}) {
    HttpRequest req;
    req.method = method;
    req.target = target;
    const auto q = target.find('?');
    req.path = target.substr(0, q);
    req.query = q == std::string::npos ? "" : target.substr(q + 1);
    req.headers = std::move(headers);
    if (!key.empty()) req.headers.emplace_back("Authorization", "Bearer " + key);
    req.body = body;
    req.peer = peer_;
    if (auto now = dispatcher_->answer_now(req, where)) return {std::move(*now), true};
    return {dispatcher_->answer(req, where), false};
  }

  // An app "shop" of the test platform.
  void register_shop() {
    const auto r =
        call("POST", "/v1/apps",
             json{{"name", "shop"}, {"platform", "plain"}, {"client_id", "c"}, {"client_secret", "s"}}.dump());
    ASSERT_EQ(r.res.status, 201) << r.res.body;
  }

  // Plays the browser: opens the connect link (no key), keeps its cookie, comes back on the app's
  // callback path with the state the platform URL carries and `code`.
  Answered finish_in_browser(const std::string& app, const std::string& connect_url, const std::string& code,
                             bool with_cookie = true) {
    const auto at = connect_url.find("/connect/start?ticket=");
    EXPECT_NE(at, std::string::npos) << connect_url;
    const auto start = call("GET", connect_url.substr(at), "", "");
    EXPECT_EQ(start.res.status, 302) << start.res.body;
    const std::string set_cookie(start.res.header("Set-Cookie"));
    EXPECT_EQ(set_cookie.rfind("__Host-mediax_connect=", 0), 0U) << set_cookie;
    EXPECT_NE(set_cookie.find("; Path=/; Secure; HttpOnly; SameSite=Lax"), std::string::npos) << set_cookie;
    const std::string location(start.res.header("Location"));
    const std::string state = location.substr(location.find("state=") + 6);
    std::vector<std::pair<std::string, std::string>> headers;
    if (with_cookie) headers.emplace_back("Cookie", "other=1; " + set_cookie.substr(0, set_cookie.find(';')));
    return call("GET", "/oauth/callback/" + app + "?state=" + state + "&code=" + code, "", "", ListenerKind::admin,
                headers);
  }

  // A grant of shop connected through authorize and the callback; its id.
  std::int64_t connect_account() {
    const auto start = call("POST", "/v1/apps/shop/authorize");  // no body: the app's own settings
    EXPECT_EQ(start.res.status, 200) << start.res.body;
    const auto page = finish_in_browser("shop", start.body().value("connect_url", ""), "the-code");
    EXPECT_EQ(page.res.status, 200) << page.res.body;
    const auto list = call("GET", "/v1/apps/shop/grants");
    EXPECT_EQ(list.body()["grants"].size(), 1U) << list.res.body;
    return list.body()["grants"][0].value("id", std::int64_t{0});
  }

  std::string peer_;  // HttpRequest::peer of every call
  RealTimeSource clock_;
  metrics::Registry metrics_;
  std::unique_ptr<ApiKeyRegistry> keys_;
  std::unique_ptr<AdminServicesForTest> services_;
  std::unique_ptr<AdminHandlers> handlers_;
  std::unique_ptr<Dispatcher> dispatcher_;
};

TEST_F(DispatcherTest, AppsAreRegisteredListedShownAndDeleted) {
  register_shop();
  EXPECT_EQ(call("GET", "/v1/apps").body()["apps"][0].value("name", ""), "shop");
  const auto shown = call("GET", "/v1/apps/shop");
  EXPECT_EQ(shown.res.status, 200);
  EXPECT_EQ(shown.res.content_type, "application/json");
  EXPECT_FALSE(shown.now) << "the database is asked on the pool";
  EXPECT_EQ(call("HEAD", "/v1/apps/shop").res.status, 200);
  EXPECT_EQ(call("DELETE", "/v1/apps/shop").body(), (json{{"deleted", true}}));
  const auto gone = call("GET", "/v1/apps/shop");
  EXPECT_EQ(gone.res.status, 404);
  EXPECT_EQ(gone.body().value("error", ""), "not_found");
}

TEST_F(DispatcherTest, BadJsonIs400AndPostsThatTakeNoBodyNeedNone) {
  const auto bad = call("POST", "/v1/apps", "{");
  EXPECT_EQ(bad.res.status, 400);
  EXPECT_EQ(bad.body().value("error", ""), "invalid_json");
  EXPECT_EQ(call("POST", "/v1/apps", "").res.status, 400) << "registering needs a body";
  register_shop();
  // No body at all: the route's own answer (a 404 names the app or grant, never a 400 for the body).
  EXPECT_EQ(call("POST", "/v1/apps/shop/authorize").res.status, 200);
  EXPECT_EQ(call("POST", "/v1/apps/nosuch/refresh").body().value("error", ""), "not_found");
  EXPECT_EQ(call("POST", "/v1/grants/987654/refresh").body().value("error", ""), "not_found");
  EXPECT_EQ(call("POST", "/v1/grants/987654/recover").body().value("error", ""), "not_found");
}

TEST_F(DispatcherTest, OnlyTheBrowserThatOpenedTheConnectLinkFinishesTheFlowOnItsAppsPath) {
  register_shop();
  ASSERT_EQ(call("POST", "/v1/apps", json{{"name", "other"}, {"platform", "plain"}, {"client_id", "c2"},
                                          {"client_secret", "s2"}}.dump()).res.status, 201);
  const auto link = [&] { return call("POST", "/v1/apps/shop/authorize").body().value("connect_url", ""); };
  // A second browser (no cookie): 403, the code not exchanged, nothing stored.
  const auto stranger = finish_in_browser("shop", link(), "c", false);
  EXPECT_EQ(stranger.res.status, 403) << stranger.res.body;
  EXPECT_NE(stranger.res.body.find("Wrong browser"), std::string::npos) << stranger.res.body;
  // The state of shop on other's path: refused.
  const auto elsewhere = finish_in_browser("other", link(), "c");
  EXPECT_EQ(elsewhere.res.status, 400) << elsewhere.res.body;
  EXPECT_NE(elsewhere.res.body.find("Wrong callback address"), std::string::npos) << elsewhere.res.body;
  EXPECT_EQ(call("GET", "/v1/apps/shop/grants").body()["grants"].size(), 0U);
  // A link opens once; an unknown one is 400; neither redirects.
  const std::string url = link();
  const std::string path = url.substr(url.find("/connect/start"));
  EXPECT_EQ(call("GET", path, "", "").res.status, 302);
  const auto again = call("GET", path, "", "");
  EXPECT_EQ(again.res.status, 410);
  EXPECT_TRUE(again.res.header("Location").empty());
  EXPECT_TRUE(again.res.header("Set-Cookie").empty());
  EXPECT_EQ(call("GET", "/connect/start?ticket=nosuchticket", "", "").res.status, 400);
  EXPECT_EQ(call("GET", "/connect/start", "", "").res.status, 400);
  // Open routes on the admin listener only.
  EXPECT_EQ(call("GET", path, "", "", ListenerKind::token).res.status, 404);
}

TEST_F(DispatcherTest, AnAccountIsConnectedAndItsTokenReadFromMemoryOnTheEventLoop) {
  register_shop();
  // The query reaches the service: the test platform takes no choices.
  EXPECT_EQ(call("GET", "/v1/apps/shop/connect?prompt=consent").res.status, 400);
  const auto redirect = call("GET", "/v1/apps/shop/connect");
  EXPECT_EQ(redirect.res.status, 302);
  EXPECT_NE(redirect.res.header("Location").find("/connect/start?ticket="), std::string::npos);
  EXPECT_TRUE(redirect.res.body.empty());
  // The browser that follows it is sent to the platform with its cookie set.
  const auto opened = call("GET", std::string(redirect.res.header("Location")).substr(
                                      redirect.res.header("Location").find("/connect/start")), "", "");
  EXPECT_EQ(opened.res.status, 302) << opened.res.body;
  EXPECT_EQ(opened.res.header("Location").rfind("https://idp.example/authorize?state=", 0), 0U);

  const auto start = call("POST", "/v1/apps/shop/authorize", "{}");
  EXPECT_FALSE(start.body().contains("authorize_url")) << "no URL to the platform that anyone could finish";
  const auto page = finish_in_browser("shop", start.body().value("connect_url", ""), "c");
  EXPECT_EQ(page.res.status, 200) << page.res.body;
  EXPECT_NE(page.res.header("Set-Cookie").find("Max-Age=0"), std::string::npos) << "the cookie is cleared";
  EXPECT_EQ(page.res.content_type, "text/html; charset=utf-8");
  EXPECT_EQ(page.res.header("Cache-Control"), "no-store");
  EXPECT_EQ(page.res.header("Referrer-Policy"), "no-referrer");
  const auto grants = call("GET", "/v1/apps/shop/grants").body()["grants"];
  ASSERT_EQ(grants.size(), 1U);
  const auto id = std::to_string(grants[0].value("id", 0));

  for (const auto where : {ListenerKind::admin, ListenerKind::token}) {
    for (const char* key : {kAdminKey, kReaderKey}) {
      const auto t = call("GET", "/v1/grants/" + id + "/token", "", key, where);
      EXPECT_EQ(t.res.status, 200) << t.res.body;
      EXPECT_TRUE(t.now) << "a token in memory and a key loaded need no pool";
      EXPECT_EQ(t.body().value("access_token", ""), "plain-access");
      EXPECT_EQ(t.res.header("Cache-Control"), "no-store");
      EXPECT_EQ(t.res.header("X-Mediax-Stale"), "");
    }
  }
  const auto app_token = call("GET", "/v1/apps/shop/token", "", kReaderKey, ListenerKind::token);
  EXPECT_FALSE(app_token.now);
  EXPECT_NE(app_token.res.status, 0);
  EXPECT_EQ(call("GET", "/v1/grants/" + id).body().value("app", ""), "shop");
  EXPECT_EQ(call("GET", "/v1/grants/abc/token").body().value("error", ""), "not_found");
  EXPECT_EQ(call("DELETE", "/v1/grants/" + id).body().value("revoked", false), true);
  EXPECT_NE(call("GET", "/v1/grants/" + id + "/token").res.status, 200);
}

TEST_F(DispatcherTest, TokensFromMemoryAreMarkedStaleWhileTheDatabaseIsAway) {
  register_shop();
  const auto id = std::to_string(connect_account());
  handlers_->set_database_reachable([] { return false; });
  const auto t = call("GET", "/v1/grants/" + id + "/token");
  EXPECT_EQ(t.res.status, 200);
  EXPECT_EQ(t.res.header("Warning"), "110 - \"Response is stale\"");
  EXPECT_EQ(t.res.header("X-Mediax-Stale"), "database-unreachable");
  EXPECT_EQ(t.res.header("Cache-Control"), "no-store");
}

TEST_F(DispatcherTest, KeysAreCheckedByTheRoutesAccessBeforeRouting) {
  const auto none = call("GET", "/v1/apps", "", "");
  EXPECT_EQ(none.res.status, 401);
  // Refused on the event loop: no key needs no hashing. (A route without a fast handler goes to the
  // pool only once a key is there to check, so it is hashed once, there.)
  EXPECT_TRUE(none.now) << "no key: refused on the event loop";
  EXPECT_TRUE(call("GET", "/v1/grants/1/token", "", "").now) << "no key: refused on the event loop";
  EXPECT_EQ(none.res.header("WWW-Authenticate"), "Bearer realm=\"mediaxd\"");
  EXPECT_EQ(none.body(),
            (json{{"error", "unauthorized"}, {"message", "an API key is required: Authorization: Bearer <key>"}}));
  const auto wrong = call("GET", "/v1/apps", "", "mxk_wrong");
  EXPECT_EQ(wrong.res.status, 401);
  EXPECT_EQ(wrong.res.header("WWW-Authenticate"), "Bearer realm=\"mediaxd\", error=\"invalid_token\"");
  EXPECT_EQ(call("GET", "/v1/apps", "", kReaderKey).res.status, 403);
  EXPECT_EQ(call("POST", "/v1/apps/shop/refresh", "", kReaderKey).res.status, 403);
  EXPECT_EQ(call("POST", "/v1/apps/nosuch/token/rejected", "{}", kReaderKey).res.status, 404);

  // What no route serves: 401 without a key, 403 for a reader, 404 "no route for" for an admin,
  // also for a known path asked with another method.
  EXPECT_EQ(call("GET", "/v1/nothing", "", "").res.status, 401);
  EXPECT_EQ(call("GET", "/v1/nothing", "", kReaderKey).res.status, 403);
  const auto no_route = call("GET", "/v1/nothing");
  EXPECT_EQ(no_route.res.status, 404);
  EXPECT_EQ(no_route.body().value("message", ""), "no route for GET /v1/nothing");
  EXPECT_TRUE(no_route.now);
  EXPECT_EQ(call("POST", "/healthz").body().value("message", ""), "no route for POST /healthz");
  EXPECT_EQ(call("DELETE", "/v1/grants/1/token").body().value("message", ""), "no route for DELETE /v1/grants/1/token");

  // Open routes: no key.
  const auto health = call("GET", "/healthz", "", "");
  EXPECT_EQ(health.res.status, 200);
  EXPECT_TRUE(health.now);
  EXPECT_EQ(call("GET", "/readyz", "", "").body(), (json{{"status", "ready"}}));
}

TEST_F(DispatcherTest, TheTokenListenerServesItsRoutesOnly) {
  const auto other = call("GET", "/v1/apps", "", "", ListenerKind::token);
  EXPECT_EQ(other.res.status, 404) << "before the key";
  EXPECT_NE(other.body().value("message", "").find("the rest of the API is on admin.listen"), std::string::npos)
      << other.res.body;
  EXPECT_NE(other.body().value("message", "").find("GET /v1/grants/{id}/token"), std::string::npos);
  const auto post = call("POST", "/v1/grants/1/token", "", "", ListenerKind::token);
  EXPECT_EQ(post.res.status, 405);
  EXPECT_EQ(post.res.header("Allow"), "GET, HEAD");
  EXPECT_EQ(post.body().value("message", ""), "the token listener serves GET and HEAD only");
  EXPECT_EQ(call("GET", "/healthz", "", "", ListenerKind::token).res.status, 200);
  EXPECT_EQ(call("GET", "/v1/grants/1/token", "", "", ListenerKind::token).res.status, 401);
  const auto missing = call("GET", "/v1/grants/987654/token", "", kReaderKey, ListenerKind::token);
  EXPECT_EQ(missing.res.status, 404);
  EXPECT_EQ(missing.body(), call("GET", "/v1/grants/987654/token", "", kReaderKey).body()) << "as the admin API";
}

TEST_F(DispatcherTest, ConsoleMetricsAndWechatEventsAnswerAsBefore) {
  const auto redirect = call("GET", "/console", "", "");
  EXPECT_EQ(redirect.res.status, 301);
  EXPECT_EQ(redirect.res.header("Location"), "/console/");
  const auto index = call("GET", "/console/", "", "");
  EXPECT_EQ(index.res.status, 200);
  EXPECT_EQ(index.res.content_type, "text/html; charset=utf-8");
  EXPECT_EQ(index.res.header("Cache-Control"), "no-store");
  EXPECT_NE(index.res.header("Content-Security-Policy").find("default-src 'none'"), std::string::npos);
  const auto outside = call("GET", "/console/../CMakeLists.txt", "", "");
  EXPECT_EQ(outside.res.status, 404);
  EXPECT_EQ(outside.res.body, "not found\n");
  const auto metrics = call("GET", "/metrics", "", "");
  EXPECT_EQ(metrics.res.status, 200);
  EXPECT_EQ(metrics.res.content_type, "text/plain; version=0.0.4; charset=utf-8");
  const auto event = call("POST", "/wechat/component/shop/events?signature=x", "<xml/>", "");
  EXPECT_EQ(event.res.status, 404) << "no receiver in this daemon";
  EXPECT_EQ(event.res.body, "unknown app");
}

TEST_F(DispatcherTest, AScopedReaderKeyReadsItsAppsTokensOnlyOnBothListenersAndFromMemory) {
  register_shop();
  const auto id = std::to_string(connect_account());
  ASSERT_EQ(call("POST", "/v1/apps",
                 json{{"name", "crm"}, {"platform", "plain"}, {"client_id", "c"}, {"client_secret", "s"}}.dump())
                .res.status,
            201);
  const std::string shop_key = "mxk_shop_scoped_reader";
  const std::string crm_key = "mxk_crm_scoped_reader";
  store_->create_api_key("shop-reader", "reader", hash_api_key(shop_key), {"crm", "sho*"});
  store_->create_api_key("crm-reader", "reader", hash_api_key(crm_key), {"crm"});
  keys_->refresh();

  for (const auto where : {ListenerKind::admin, ListenerKind::token}) {
    const auto own = call("GET", "/v1/grants/" + id + "/token", "", shop_key, where);
    EXPECT_EQ(own.res.status, 200) << own.res.body;
    EXPECT_TRUE(own.now) << "the app's name is in memory: the scope is checked on the event loop";
    const auto other = call("GET", "/v1/grants/" + id + "/token", "", crm_key, where);
    EXPECT_EQ(other.res.status, 403) << other.res.body;
    EXPECT_TRUE(other.now);
    EXPECT_EQ(other.body().value("error", ""), "forbidden");
    EXPECT_EQ(other.body().value("message", ""),
              "API key 'crm-reader' may use the tokens of apps crm only; grant " + id + " belongs to another app");
    EXPECT_EQ(other.body()["key_apps"], json::array({"crm"}));
    EXPECT_EQ(other.res.body.find("plain-access"), std::string::npos) << "never the token";
    EXPECT_EQ(other.res.body.find("shop"), std::string::npos) << "nor the other app's name";

    // App routes: refused before the app is looked up, so a scoped key cannot even probe names.
    for (const char* app : {"shop", "nosuch"}) {
      const auto a = call("GET", std::string("/v1/apps/") + app + "/token", "", crm_key, where);
      EXPECT_EQ(a.res.status, 403) << app << ": " << a.res.body;
      EXPECT_EQ(a.body().value("message", ""),
                std::string("API key 'crm-reader' may use the tokens of apps crm only; app '") + app +
                    "' is not one of them");
    }
  }
  // The app's own token route for an app in scope answers as before (shop has no app token).
  EXPECT_EQ(call("GET", "/v1/apps/shop/token", "", shop_key).body().value("error", ""), "no_app_token");
  EXPECT_EQ(call("GET", "/v1/apps/crm/token", "", crm_key).body().value("error", ""), "no_app_token");

  // Reports of rejected tokens: the same scope.
  const std::string report = json{{"access_token", "plain-access"}}.dump();
  const auto refused = call("POST", "/v1/grants/" + id + "/token/rejected", report, crm_key);
  EXPECT_EQ(refused.res.status, 403) << refused.res.body;
  EXPECT_EQ(call("POST", "/v1/apps/shop/token/rejected", report, crm_key).res.status, 403);
  const auto allowed = call("POST", "/v1/grants/" + id + "/token/rejected", report, shop_key);
  EXPECT_NE(allowed.res.status, 403) << "in scope: the report goes on (plain's refresh fails): " << allowed.res.body;
  EXPECT_NE(allowed.res.status, 401);

  // The scope does not widen what a reader may do.
  EXPECT_EQ(call("GET", "/v1/apps/shop", "", shop_key).res.status, 403);
  EXPECT_EQ(call("POST", "/v1/grants/" + id + "/refresh", "", shop_key).res.status, 403);
}

TEST_F(DispatcherTest, APeerWithTooManyFailedAuthenticationsGets429OnKeyedRoutesOnBothPaths) {
  ManualTimeSource time;
  AuthFailureGuard guard({.failures_per_peer = 3, .window = std::chrono::seconds(60)}, time, &metrics_);
  dispatcher_ = std::make_unique<Dispatcher>(*handlers_, keys_.get(), route_table(), GatePolicy{&guard, false});
  register_shop();
  const auto id = std::to_string(connect_account());
  const std::string path = "/v1/grants/" + id + "/token";
  peer_ = "203.0.113.9";

  EXPECT_EQ(call("GET", path, "", "mxk_wrong_1").res.status, 401);
  EXPECT_EQ(call("GET", "/v1/apps", "", "").res.status, 401) << "no key on a keyed route counts too";
  EXPECT_EQ(call("GET", path, "", kReaderKey, ListenerKind::token).res.status, 200) << "two failures: still in";
  EXPECT_EQ(call("GET", "/v1/apps", "", kReaderKey).res.status, 403) << "a reader on an admin route is no failure";
  EXPECT_EQ(call("GET", path, "", "mxk_wrong_2", ListenerKind::token).res.status, 401);

  for (const auto where : {ListenerKind::admin, ListenerKind::token}) {
    const auto held = call("GET", path, "", kAdminKey, where);
    EXPECT_EQ(held.res.status, 429) << "even a good key: " << held.res.body;
    EXPECT_TRUE(held.now) << "answered on the event loop";
    EXPECT_EQ(held.res.header("Retry-After"), "60");
    EXPECT_EQ(held.body().value("error", ""), "rate_limited");
    EXPECT_EQ(held.body().value("retry_after_seconds", 0), 60);
  }
  EXPECT_EQ(call("GET", "/v1/apps", "", kAdminKey).res.status, 429) << "on the pool too";
  EXPECT_EQ(call("GET", "/healthz", "", "").res.status, 200) << "open routes stay open";
  EXPECT_EQ(metrics_.counter("mediax_rate_limited_total", "", {{"limit", "auth_failures_per_peer"}}).value(), 3);

  peer_ = "198.51.100.2";
  EXPECT_EQ(call("GET", path, "", kAdminKey).res.status, 200) << "other peers go on";

  peer_ = "203.0.113.9";
  time.advance(std::chrono::seconds(59));
  EXPECT_EQ(call("GET", path, "", kAdminKey).res.header("Retry-After"), "1");
  time.advance(std::chrono::seconds(1));
  EXPECT_EQ(call("GET", path, "", kAdminKey).res.status, 200) << "the window is over";
}

TEST_F(DispatcherTest, MetricsNeedAReaderKeyWhenMetricsRequireKey) {
  EXPECT_EQ(call("GET", "/metrics", "", "").res.status, 200) << "open by default";
  dispatcher_ = std::make_unique<Dispatcher>(*handlers_, keys_.get(), route_table(), GatePolicy{nullptr, true});
  const auto none = call("GET", "/metrics", "", "");
  EXPECT_EQ(none.res.status, 401);
  EXPECT_EQ(none.body().value("error", ""), "unauthorized");
  EXPECT_EQ(call("GET", "/metrics", "", "mxk_wrong").res.status, 401);
  EXPECT_EQ(call("GET", "/metrics", "", kReaderKey).res.status, 200);
  EXPECT_EQ(call("GET", "/metrics", "", kAdminKey).res.status, 200);
  EXPECT_EQ(call("GET", "/healthz", "", "").res.status, 200);
}

}  // namespace
}  // namespace mediax::test
