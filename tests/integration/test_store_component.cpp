// PgStore for the WeChat third-party platform (migrations/0011_wechat_component.sql): the latest
// component_verify_ticket (newer CreateTime wins, sealed at rest, NOTIFY), apps' sealed
// secret_options, revoking the grant of an account that withdrew its authorization (webhook in
// the same transaction), and how the view says each row's token is sent.
#include <map>

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "pg_env.hpp"
#include "service/app_token_usages.hpp"
#include "store/pg_store.hpp"

namespace mediax::test {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

std::string raw(const std::string& url, const std::string& sql) {
  pqxx::connection c(url);
  pqxx::nontransaction tx(c);
  const auto r = tx.exec(sql);
  return r.empty() || r[0][0].is_null() ? std::string() : r[0][0].as<std::string>();
}

App component_app(const std::string& name) {
  App a = sample_app(name, true);
  a.platform = "wechat_component";
  a.client_id = "wxcomponent-" + name;
  a.issuer.clear();
  a.endpoints = {};
  a.options = nlohmann::json::object();
  a.secret_options = {{"message_token", "tok-" + name}, {"encoding_aes_key", std::string(43, 'k')}};
  a.token_usage = TokenUsage::access_token_query;                // the authorizers' tokens
  a.app_token_usage = TokenUsage::component_access_token_query;  // its own (component) token
  a.credential_key = "wechat_component - " + a.client_id;
  return a;
}

ComponentTicket ticket(std::int64_t app_id, const std::string& value, TimePoint created) {
  return {app_id, value, created, created + seconds(1)};
}

using StoreComponentTickets = StoreTest;
using StoreSecretOptions = StoreTest;
using StoreRevokeOfAccount = StoreTest;
using StoreTokenUsageView = StoreTest;

TEST_F(StoreComponentTickets, NewerCreateTimeWinsAndTheTicketIsSealedAtRest) {
  const App app = store_->create_app(component_app("platform"));
  EXPECT_FALSE(store_->latest_component_ticket(app.id));

  ASSERT_TRUE(store_->put_component_ticket(ticket(app.id, "ticket@@@first", t0())));
  // A retried or overtaken push (older or same CreateTime) does not replace it.
  EXPECT_FALSE(store_->put_component_ticket(ticket(app.id, "ticket@@@older", t0() - minutes(10))));
  EXPECT_FALSE(store_->put_component_ticket(ticket(app.id, "ticket@@@same-time", t0())));
  auto got = store_->latest_component_ticket(app.id);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->ticket, "ticket@@@first");
  EXPECT_EQ(got->create_time, t0());
  EXPECT_EQ(got->received_at, t0() + seconds(1));

  ASSERT_TRUE(store_->put_component_ticket(ticket(app.id, "ticket@@@second", t0() + minutes(10))));
  got = store_->latest_component_ticket(app.id);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->ticket, "ticket@@@second");
  EXPECT_EQ(got->create_time, t0() + minutes(10));

  const std::string at_rest = raw(url_, "SELECT ticket FROM mediax.component_tickets");
  EXPECT_EQ(at_rest.rfind("v1:", 0), 0U) << "sealed";
  EXPECT_EQ(at_rest.find("ticket@@@"), std::string::npos);
  // Copied to another app's row, it does not open.
  const App other = store_->create_app(component_app("other"));
  pqxx::connection c(url_);
  pqxx::nontransaction tx(c);
  tx.exec_params(
      "INSERT INTO mediax.component_tickets (app_id, ticket, create_time, received_at)"
      " VALUES ($1, $2, now(), now())",
      other.id, at_rest);
  EXPECT_THROW(store_->latest_component_ticket(other.id), SecretUnreadableError);
}

TEST_F(StoreComponentTickets, AppsCarryTheirTicketsCreateTimeNeverTheTicket) {
  const App app = store_->create_app(component_app("platform"));
  const App plain = store_->create_app(sample_app("plain"));
  EXPECT_FALSE(store_->get_app("platform")->component_ticket_at);
  ASSERT_TRUE(store_->put_component_ticket(ticket(app.id, "ticket@@@1", t0() + seconds(7))));
  EXPECT_EQ(store_->get_app("platform")->component_ticket_at, t0() + seconds(7));
  EXPECT_EQ(store_->get_app_by_id(app.id, true)->component_ticket_at, t0() + seconds(7));
  std::map<std::string, std::optional<TimePoint>> listed;
  for (const auto& a : store_->list_apps()) listed[a.name] = a.component_ticket_at;
  EXPECT_EQ(listed.at("platform"), t0() + seconds(7));
  EXPECT_FALSE(listed.at("plain"));
  EXPECT_FALSE(store_->get_app_by_id(plain.id)->component_ticket_at);
  // Deleting the app deletes its ticket.
  ASSERT_TRUE(store_->delete_app("platform"));
  EXPECT_EQ(raw(url_, "SELECT count(*) FROM mediax.component_tickets"), "0");
}

TEST_F(StoreComponentTickets, AStoredTicketIsNotifiedWithoutTheTicket) {
  const App app = store_->create_app(component_app("platform"));
  pqxx::connection listener(url_);
  struct Collect : pqxx::notification_receiver {
    explicit Collect(pqxx::connection_base& c) : pqxx::notification_receiver(c, "mediax_component_tickets") {}
    void operator()(const std::string& payload, int) override { payloads.push_back(payload); }
    std::vector<std::string> payloads;
  } collect(listener);
  ASSERT_TRUE(store_->put_component_ticket(ticket(app.id, "ticket@@@secret", t0())));
  EXPECT_FALSE(store_->put_component_ticket(ticket(app.id, "ticket@@@old", t0() - hours(1))));
  for (int i = 0; i < 50 && collect.payloads.empty(); ++i) listener.await_notification(0, 100000);
  listener.get_notifs();
  ASSERT_EQ(collect.payloads.size(), 1U) << "one per stored ticket, none for a refused one";
  const auto j = nlohmann::json::parse(collect.payloads[0]);
  EXPECT_EQ(j["op"], "ticket");
  EXPECT_EQ(j["app_id"], app.id);
  EXPECT_TRUE(j["grant_id"].is_null());
  EXPECT_EQ(collect.payloads[0].find("ticket@@@"), std::string::npos);
}

TEST_F(StoreSecretOptions, SealedAtRestReturnedOnlyWithSecretsAndRoundTripped) {
  const App in = component_app("platform");
  const App created = store_->create_app(in);
  EXPECT_EQ(created.secret_options, in.secret_options);
  const std::string at_rest = raw(url_, "SELECT secret_options FROM mediax.apps WHERE name = 'platform'");
  EXPECT_EQ(at_rest.rfind("v2:", 0), 0U) << "sealed and bound to the app's endpoints";
  EXPECT_EQ(at_rest.find("tok-platform"), std::string::npos);

  EXPECT_EQ(store_->get_app("platform")->secret_options, nlohmann::json::object());
  EXPECT_EQ(store_->list_apps()[0].secret_options, nlohmann::json::object());
  EXPECT_EQ(store_->get_app("platform", true)->secret_options, in.secret_options);
  EXPECT_EQ(store_->get_app_by_id(created.id, true)->secret_options, in.secret_options);
  // The refresh job reads the app with its secrets.
  auto job = store_->acquire_lease({created.id, 0}, "w", t0(), t0() + minutes(1));
  ASSERT_TRUE(job);
  EXPECT_EQ(job->app.secret_options, in.secret_options);
  EXPECT_TRUE(job->unreadable.empty());

  // No secret options: nothing stored.
  store_->create_app(sample_app("plain"));
  EXPECT_EQ(raw(url_, "SELECT secret_options FROM mediax.apps WHERE name = 'plain'"), "");
  EXPECT_EQ(store_->get_app("plain", true)->secret_options, nlohmann::json::object());

  // Copied to another app, the value does not open, and says whose it is without the value.
  pqxx::connection c(url_);
  pqxx::nontransaction tx(c);
  tx.exec_params("UPDATE mediax.apps SET secret_options = $1 WHERE name = 'plain'", at_rest);
  try {
    store_->get_app("plain", true);
    ADD_FAILURE() << "expected SecretUnreadableError";
  } catch (const SecretUnreadableError& e) {
    EXPECT_NE(std::string(e.what()).find("secret_options"), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).find("tok-"), std::string::npos) << e.what();
  }
}

TEST_F(StoreSecretOptions, RotateKeyReSealsSecretOptionsAndTickets) {
  const auto k1 = test_seal_key('1');
  const auto k2 = test_seal_key('2');
  pg::PgStore old_store(url_, 2, std::make_shared<const crypto::Sealer>(std::vector<crypto::SealKey>{k1}));
  pg::PgStore both(url_, 2, std::make_shared<const crypto::Sealer>(std::vector<crypto::SealKey>{k2, k1}));
  pg::PgStore new_store(url_, 2, std::make_shared<const crypto::Sealer>(std::vector<crypto::SealKey>{k2}));
  const App in = component_app("platform");
  const App app = old_store.create_app(in);
  ASSERT_TRUE(old_store.put_component_ticket(ticket(app.id, "ticket@@@rotated", t0())));

  std::map<std::string, std::int64_t> before;
  for (const auto& c : new_store.count_sealed_values()) before[c.column + "/" + c.key_id] = c.count;
  EXPECT_EQ(before["apps.secret_options/" + k1.id], 1);
  EXPECT_EQ(before["component_tickets.ticket/" + k1.id], 1);
  EXPECT_THROW(new_store.get_app("platform", true), SecretUnreadableError);

  std::map<std::string, pg::ResealCounts> report;
  for (const auto& r : both.reseal_all(10)) report[r.column] = r;
  EXPECT_EQ(report["apps.secret_options"].resealed, 1);
  EXPECT_EQ(report["component_tickets.ticket"].resealed, 1);
  for (const auto& c : new_store.count_sealed_values()) EXPECT_EQ(c.key_id, k2.id) << c.column;

  EXPECT_EQ(new_store.get_app("platform", true)->secret_options, in.secret_options);
  EXPECT_EQ(new_store.latest_component_ticket(app.id)->ticket, "ticket@@@rotated");
  EXPECT_THROW(old_store.latest_component_ticket(app.id), SecretUnreadableError);
}

TEST_F(StoreRevokeOfAccount, RevokesTheAccountsGrantAndQueuesGrantRevokedInOneGo) {
  const App app = store_->create_app(component_app("platform"));
  store_->set_webhook(app.id, "https://hooks.example/mediax", "whsec-0123456789abcdef");
  const Grant keep = store_->upsert_grant(sample_grant(app.id, "wx-keep", "rt-keep"),
                                          sample_token("at-keep", t0() + hours(24 * 365 * 20)));
  const Grant gone = store_->upsert_grant(sample_grant(app.id, "wx-gone", "rt-gone"),
                                          sample_token("at-gone", t0() + hours(24 * 365 * 20)));
  const auto in_view = [&](const std::string& token) {
    return raw(url_, "SELECT count(*) FROM mediax.access_tokens WHERE access_token = '" + token + "'") == "1";
  };
  ASSERT_TRUE(in_view("at-gone"));

  const auto revoked = store_->revoke_grant_of_account(app.id, "wx-gone", "the account withdrew its authorization");
  ASSERT_EQ(revoked, std::optional<std::int64_t>(gone.id));
  EXPECT_FALSE(in_view("at-gone")) << "the token leaves the view at once";
  EXPECT_TRUE(in_view("at-keep"));
  const auto g = store_->get_grant(gone.id, true);
  ASSERT_TRUE(g);
  EXPECT_EQ(g->status, GrantStatus::revoked);
  EXPECT_EQ(g->status_reason, "the account withdrew its authorization");
  EXPECT_EQ(g->refresh_token, "") << "a revoked grant keeps no refresh token";
  EXPECT_FALSE(g->next_refresh_at);
  EXPECT_FALSE(store_->get_token({app.id, gone.id}));

  const auto deliveries = store_->list_webhook_deliveries(app.id, 10);
  ASSERT_EQ(deliveries.size(), 1U);
  EXPECT_EQ(deliveries[0].event, "grant.revoked");
  const auto& p = deliveries[0].payload;
  EXPECT_EQ(p["event"], "grant.revoked");
  EXPECT_EQ(p["app"], "platform");
  EXPECT_EQ(p["grant_id"], gone.id);
  EXPECT_EQ(p["account_id"], "wx-gone");
  EXPECT_EQ(p["reason"], "the account withdrew its authorization");
  EXPECT_TRUE(p.contains("at"));
  EXPECT_FALSE(p.contains("class"));

  // A retried push, an account never connected, another app's account: nothing to do, nothing queued.
  EXPECT_FALSE(store_->revoke_grant_of_account(app.id, "wx-gone", "again"));
  EXPECT_FALSE(store_->revoke_grant_of_account(app.id, "wx-unknown", "unknown"));
  const App other = store_->create_app(component_app("other"));
  EXPECT_FALSE(store_->revoke_grant_of_account(other.id, "wx-keep", "not its grant"));
  EXPECT_EQ(store_->list_webhook_deliveries(app.id, 10).size(), 1U);
  EXPECT_EQ(store_->get_grant(keep.id)->status, GrantStatus::active);
}

TEST_F(StoreRevokeOfAccount, WithoutAWebhookTheGrantIsStillRevoked) {
  const App app = store_->create_app(component_app("platform"));
  const Grant g = store_->upsert_grant(sample_grant(app.id, "wx-1", "rt-1"), sample_token("at-1", t0() + hours(1)));
  EXPECT_EQ(store_->revoke_grant_of_account(app.id, "wx-1", "withdrawn"), std::optional<std::int64_t>(g.id));
  EXPECT_EQ(store_->get_grant(g.id)->status, GrantStatus::revoked);
  EXPECT_TRUE(store_->list_webhook_deliveries(app.id, 10).empty());
}

TEST_F(StoreTokenUsageView, TheAppTokenRowOfAComponentAppSaysComponentAccessTokenItsGrantsAccessToken) {
  const App component = store_->create_app(component_app("platform"));
  const App oauth = store_->create_app(sample_app("svc", true));
  const auto far = t0() + hours(24 * 365 * 20);
  for (const App& a : {component, oauth}) {
    store_->upsert_grant(sample_grant(a.id, "acct-" + a.name, "rt"), sample_token("at-grant-" + a.name, far));
    ASSERT_TRUE(store_->acquire_lease({a.id, 0}, "w", t0(), t0() + hours(1)));
    RefreshSuccess s;
    s.token = sample_token("at-app-" + a.name, far);
    s.next_refresh_at = t0() + hours(1);
    store_->complete_refresh({a.id, 0}, "w", s);
  }
  const auto usage = [&](const std::string& token) {
    return raw(url_, "SELECT token_usage FROM mediax.access_tokens WHERE access_token = '" + token + "'");
  };
  EXPECT_EQ(usage("at-app-platform"), "query:component_access_token");
  EXPECT_EQ(usage("at-grant-platform"), "query:access_token");
  EXPECT_EQ(usage("at-app-svc"), "header:Authorization:Bearer");
  EXPECT_EQ(usage("at-grant-svc"), "header:Authorization:Bearer");
  // Stored only where it differs from token_usage.
  EXPECT_EQ(raw(url_, "SELECT app_token_usage FROM mediax.apps WHERE name = 'platform'"),
            "query:component_access_token");
  EXPECT_EQ(raw(url_, "SELECT count(*) FROM mediax.apps WHERE name = 'svc' AND app_token_usage IS NULL"), "1");
  // The reader's view keeps its columns, in their order.
  EXPECT_EQ(raw(url_,
                "SELECT string_agg(column_name, ',' ORDER BY ordinal_position) FROM information_schema.columns"
                " WHERE table_schema = 'mediax' AND table_name = 'access_tokens'"),
            "app_name,platform,grant_id,account_id,access_token,token_type,scopes,expires_at,refreshed_at,token_usage");
}

TEST_F(StoreTokenUsageView, TokenAnswersSayHowTheAppTokenAndTheGrantsTokensAreSent) {
  const App component = store_->create_app(component_app("platform"));
  const App oauth = store_->create_app(sample_app("svc", true));
  AppTokenUsages loaded(*store_);
  loaded.load_all();
  AppTokenUsages asked(*store_);  // reads each app when first asked
  for (AppTokenUsages* u : {&loaded, &asked}) {
    EXPECT_EQ(u->get({component.id, 0}), TokenUsage::component_access_token_query);
    EXPECT_EQ(u->get({component.id, 42}), TokenUsage::access_token_query);
    EXPECT_EQ(u->get({oauth.id, 0}), TokenUsage::authorization_bearer);
    EXPECT_EQ(u->get({oauth.id, 42}), TokenUsage::authorization_bearer);
    EXPECT_FALSE(u->get({oauth.id + 1000, 0}));
  }
}

}  // namespace
}  // namespace mediax::test
