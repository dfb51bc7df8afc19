// The audit trail as the Dispatcher writes it (http/dispatcher.cpp with service/audit_trail.hpp) on
// a real store: a scripted admin session leaves exactly its record; token reads, on the event loop
// too, are counted per key, grant, result and minute; when the record cannot be written an action
// is refused with 503 and does not happen, and token read counts wait for the next flush.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "admin_services_fixture.hpp"
#include "http/admin_handlers.hpp"
#include "http/dispatcher.hpp"
#include "pg_env.hpp"
#include "service/api_keys.hpp"
#include "service/audit_trail.hpp"

namespace mediax::test {
namespace {

using nlohmann::json;

constexpr const char* kAdminKey = "mxk_admin_key_for_audit";
constexpr const char* kReaderKey = "mxk_reader_key_for_audit";

struct Answered {
  HttpResponse res;
  bool now = false;
  json body() const { return json::parse(res.body, nullptr, false); }
};

// who, what, app, grant, result, count: what a test compares.
using Line = std::tuple<std::string, std::string, std::string, std::string, std::string, std::int64_t>;

class DispatcherAudit : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    store_->create_api_key("ops", "admin", hash_api_key(kAdminKey));
    store_->create_api_key("app", "reader", hash_api_key(kReaderKey));
    keys_ = std::make_unique<ApiKeyRegistry>(*store_, clock_);
    keys_->load();
    trail_ = std::make_unique<AuditTrail>(*store_, clock_);
    services_ = std::make_unique<AdminServicesForTest>(*store_);
    auto services = services_->services();
    services.audit = trail_.get();
    handlers_ = std::make_unique<AdminHandlers>(services, AdminConfig{}, [] { return true; }, metrics_);
    dispatcher_ = std::make_unique<Dispatcher>(*handlers_, keys_.get());
    dispatcher_->set_audit(trail_.get());
  }

  Answered call(const std::string& method, const std::string& target, const std::string& body = "",
                const std::string& key = kAdminKey, const std::string& cookie = "") {
    HttpRequest req;
    if (!cookie.empty()) req.headers.emplace_back("Cookie", cookie);
    req.method = method;
    req.target = target;
    const auto q = target.find('?');
    req.path = target.substr(0, q);
    req.query = q == std::string::npos ? "" : target.substr(q + 1);
    req.peer = "198.51.100.9";
    if (!key.empty()) req.headers.emplace_back("Authorization", "Bearer " + key);
    req.body = body;
    if (auto now = dispatcher_->answer_now(req, ListenerKind::admin)) return {std::move(*now), true};
    return {dispatcher_->answer(req, ListenerKind::admin), false};
  }

  // Connects an account of shop as a browser does: the connect link (no key), its cookie, the
  // callback on shop's path with the state the platform URL carries. The state, for the leak check.
  std::string connect_in_browser(const std::string& code) {
    const auto start = call("POST", "/v1/apps/shop/authorize", "{}");
    EXPECT_EQ(start.res.status, 200) << start.res.body;
    const std::string url = start.body().value("connect_url", "");
    const auto opened = call("GET", url.substr(url.find("/connect/start")), "", "");
    EXPECT_EQ(opened.res.status, 302) << opened.res.body;
    const std::string set_cookie(opened.res.header("Set-Cookie"));
    const std::string location(opened.res.header("Location"));
    std::string state = location.substr(location.find("state=") + 6);
    state = state.substr(0, state.find('&'));
    const auto page = call("GET", "/oauth/callback/shop?state=" + state + "&code=" + code, "", "",
                           set_cookie.substr(0, set_cookie.find(';')));
    EXPECT_EQ(page.res.status, 200) << page.res.body;
    return state;
  }

  // The trail, oldest first, without ids and times.
  std::vector<Line> lines() {
    std::vector<Line> out;
    const auto all = store_->list_audit({});
    for (auto it = all.rbegin(); it != all.rend(); ++it) {
      out.emplace_back(it->who, it->what, it->app, it->grant, it->result, it->count);
      EXPECT_EQ(it->peer, "198.51.100.9");
    }
    return out;
  }

  void exec(const std::string& sql) {
    pqxx::connection c(url_);
    pqxx::work tx(c);
    tx.exec(sql);
    tx.commit();
  }
  void refuse_audit_inserts() {
    exec(
        "CREATE FUNCTION mediax.no_audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'audit "
        "refused by the test'; END $$; CREATE TRIGGER no_audit BEFORE INSERT ON mediax.audit FOR EACH ROW EXECUTE "
        "FUNCTION mediax.no_audit()");
  }
  void allow_audit_inserts() { exec("DROP TRIGGER no_audit ON mediax.audit"); }

  void register_shop() {
    const auto r =
        call("POST", "/v1/apps",
             json{{"name", "shop"}, {"platform", "plain"}, {"client_id", "c"}, {"client_secret", "s"}}.dump());
    ASSERT_EQ(r.res.status, 201) << r.res.body;
  }

  RealTimeSource clock_;
  metrics::Registry metrics_;
  std::unique_ptr<ApiKeyRegistry> keys_;
  std::unique_ptr<AuditTrail> trail_;
  std::unique_ptr<AdminServicesForTest> services_;
  std::unique_ptr<AdminHandlers> handlers_;
  std::unique_ptr<Dispatcher> dispatcher_;
};

TEST_F(DispatcherAudit, AnAdminSessionLeavesExactlyItsRecord) {
  register_shop();
  const std::string state = connect_in_browser("secret-code-123");
  ASSERT_FALSE(state.empty());
  const auto grants = call("GET", "/v1/apps/shop/grants").body()["grants"];
  ASSERT_EQ(grants.size(), 1U);
  const std::string id = std::to_string(grants[0].value("id", std::int64_t{0}));
  for (int i = 0; i < 5; ++i) {
    const auto read = call("GET", "/v1/grants/" + id + "/token", "", kReaderKey);
    ASSERT_EQ(read.res.status, 200) << read.res.body;
    EXPECT_TRUE(read.now) << "served on the event loop: counted in memory, no database write";
  }
  EXPECT_EQ(call("DELETE", "/v1/apps/shop", "", kReaderKey).res.status, 403);
  EXPECT_EQ(call("DELETE", "/v1/apps/shop", "", "mxk_not_a_key").res.status, 401);
  EXPECT_EQ(call("DELETE", "/v1/grants/" + id).res.status, 200);
  EXPECT_EQ(call("GET", "/healthz", "", "").res.status, 200);  // not audited

  EXPECT_EQ(trail_->flush_counts(), 0U) << "this minute has not ended";
  EXPECT_EQ(trail_->flush_counts(true), 1U);
  const std::vector<Line> want{
      {"ops", "registerApp", "", "", "201", 1},  // the name is in the body, not the path
      {"ops", "startAuthorization", "shop", "", "200", 1},
      {"", "startConnect", "", "", "302", 1},
      {"", "oauthAppCallback", "shop", "", "200", 1},
      {"ops", "listGrants", "shop", "", "200", 1},
      {"app", "deleteApp", "shop", "", "403", 1},
      {"", "deleteApp", "shop", "", "401", 1},
      {"ops", "revokeGrant", "", id, "200", 1},
      {"app", "getGrantToken", "", id, "200", 5},
  };
  EXPECT_EQ(lines(), want);

  // Neither the code nor the state nor a key is anywhere in the trail.
  pqxx::connection c(url_);
  pqxx::nontransaction tx(c);
  const auto text = tx.exec1("SELECT string_agg(t::text, ' ') FROM mediax.audit t")[0].as<std::string>();
  for (const std::string& secret : {std::string("secret-code-123"), state, std::string(kAdminKey),
                                   std::string(kReaderKey), std::string("mxk_not_a_key")}) {
    EXPECT_EQ(text.find(secret), std::string::npos) << secret;
  }
}

TEST_F(DispatcherAudit, AnActionWhoseRecordCannotBeWrittenIsRefusedAndDoesNotHappen) {
  register_shop();
  refuse_audit_inserts();
  const auto refused = call("DELETE", "/v1/apps/shop");
  EXPECT_EQ(refused.res.status, 503);
  EXPECT_EQ(refused.body().value("error", ""), "audit_unavailable");
  EXPECT_EQ(call("GET", "/v1/apps", "").res.status, 503) << "admin reads too";
  allow_audit_inserts();
  EXPECT_EQ(call("GET", "/v1/apps/shop").res.status, 200) << "the app was not deleted";
  EXPECT_TRUE(store_->get_app("shop").has_value());
}

TEST_F(DispatcherAudit, TokenReadCountsWaitForTheNextFlushWhenTheyCannotBeWritten) {
  register_shop();
  connect_in_browser("c");
  const std::string id =
      std::to_string(call("GET", "/v1/apps/shop/grants").body()["grants"][0].value("id", std::int64_t{0}));
  refuse_audit_inserts();
  for (int i = 0; i < 3; ++i) EXPECT_EQ(call("GET", "/v1/grants/" + id + "/token", "", kReaderKey).res.status, 200);
  EXPECT_EQ(trail_->flush_counts(true), 0U);
  for (int i = 0; i < 2; ++i) EXPECT_EQ(call("GET", "/v1/grants/" + id + "/token", "", kReaderKey).res.status, 200);
  allow_audit_inserts();
  EXPECT_EQ(trail_->flush_counts(true), 1U);
  AuditQuery q;
  q.who = "app";
  const auto rows = store_->list_audit(q);
  ASSERT_EQ(rows.size(), 1U);
  EXPECT_EQ(rows[0].count, 5) << "the reads of the failed flush and those after it, one row";
  EXPECT_EQ(rows[0].what, "getGrantToken");
}

TEST_F(DispatcherAudit, TheTrailIsListedNewestFirstWithFiltersAndPages) {
  register_shop();
  for (int i = 0; i < 3; ++i) call("GET", "/v1/apps/shop");
  const auto page = call("GET", "/v1/audit?app=shop&limit=2");
  ASSERT_EQ(page.res.status, 200) << page.res.body;
  const auto entries = page.body()["entries"];
  ASSERT_EQ(entries.size(), 2U);
  EXPECT_EQ(entries[0].value("what", ""), "getApp");
  EXPECT_EQ(entries[0].value("who", ""), "ops");
  EXPECT_EQ(entries[0].value("peer", ""), "198.51.100.9");
  EXPECT_TRUE(entries[0]["grant_id"].is_null());
  const auto before = page.body()["next_before"];
  ASSERT_TRUE(before.is_number());
  const auto rest = call("GET", "/v1/audit?app=shop&before=" + before.dump()).body()["entries"];
  ASSERT_EQ(rest.size(), 1U) << "the third read (the registration names its app in the body, not the path)";
  EXPECT_EQ(rest[0].value("what", ""), "getApp");
  const auto bad = call("GET", "/v1/audit?since=yesterday");
  EXPECT_EQ(bad.res.status, 400);
  EXPECT_EQ(bad.body().value("error", ""), "invalid_query");
  EXPECT_EQ(call("GET", "/v1/audit?token=x").res.status, 400) << "unknown parameters are refused";
  EXPECT_EQ(call("GET", "/v1/audit", "", kReaderKey).res.status, 403);
}

}  // namespace
}  // namespace mediax::test
