// PgStore: apps, authorization requests and events.
#include <gtest/gtest.h>

#include "pg_env.hpp"

namespace mediax::test {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;

using StoreApps = StoreTest;
using StoreAuthRequests = StoreTest;
using StoreEvents = StoreTest;

TEST_F(StoreApps, CreateThenGetReturnsEveryField) {
  App in = sample_app("shop");
  in.next_refresh_at = t0() + std::chrono::microseconds(123456);
  const App created = store_->create_app(in);
  EXPECT_GT(created.id, 0);
  EXPECT_GT(created.created_at, TimePoint{});

  const auto got = store_->get_app("shop", true);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->id, created.id);
  EXPECT_EQ(got->platform, "oauth2");
  EXPECT_EQ(got->client_id, "client-shop");
  EXPECT_EQ(got->client_secret, "secret-of-shop");
  EXPECT_EQ(got->scopes, (std::vector<std::string>{"read", "write"}));
  EXPECT_FALSE(got->client_credentials);
  EXPECT_EQ(got->issuer, "https://idp.example");
  EXPECT_EQ(got->endpoints.authorize_url, "https://idp.example/authorize");
  EXPECT_EQ(got->endpoints.token_url, "https://idp.example/token");
  EXPECT_EQ(got->endpoints.revocation_url, "");
  EXPECT_EQ(got->token_auth_method, "client_secret_basic");
  EXPECT_EQ(got->redirect_uri, "http://127.0.0.1:8080/oauth/callback");
  EXPECT_EQ(got->options, in.options);
  EXPECT_EQ(got->status, GrantStatus::active);
  EXPECT_EQ(got->next_refresh_at, in.next_refresh_at);  // microseconds survive the round trip

  const auto by_id = store_->get_app_by_id(created.id, false);
  ASSERT_TRUE(by_id);
  EXPECT_EQ(by_id->name, "shop");
}

TEST_F(StoreApps, SecretsAreOnlyReturnedWhenAskedFor) {
  store_->create_app(sample_app("a"));
  store_->create_app(sample_app("b"));
  const auto all = store_->list_apps();
  ASSERT_EQ(all.size(), 2U);
  for (const auto& a : all) EXPECT_EQ(a.client_secret, "") << a.name;
  EXPECT_EQ(store_->get_app("a")->client_secret, "");
  EXPECT_EQ(store_->get_app_by_id(all[0].id)->client_secret, "");
  EXPECT_EQ(store_->get_app("a", true)->client_secret, "secret-of-a");
  EXPECT_EQ(store_->get_app_by_id(all[1].id, true)->client_secret, "secret-of-b");
}

TEST_F(StoreApps, ListingCarriesEachAppsWebhookUrlButNoSecret) {
  const auto a = store_->create_app(sample_app("a"));
  store_->create_app(sample_app("b"));
  const auto c = store_->create_app(sample_app("c"));
  store_->set_webhook(a.id, "https://hooks.example/a", "hook-secret-a");
  store_->set_webhook(c.id, "http://10.0.0.1:9000/c", "hook-secret-c");
  const auto all = store_->list_apps();
  ASSERT_EQ(all.size(), 3U);
  EXPECT_EQ(all[0].webhook_url, "https://hooks.example/a");
  EXPECT_EQ(all[1].webhook_url, "");
  EXPECT_EQ(all[2].webhook_url, "http://10.0.0.1:9000/c");
  EXPECT_TRUE(store_->delete_webhook(a.id));
  EXPECT_EQ(store_->list_apps()[0].webhook_url, "");
}

TEST_F(StoreApps, DuplicateNameIsRejected) {
  store_->create_app(sample_app("dup"));
  App again = sample_app("dup");
  again.client_id = "other";
  EXPECT_THROW(store_->create_app(again), DuplicateError);
  EXPECT_EQ(store_->list_apps().size(), 1U);
  EXPECT_EQ(store_->get_app("dup")->client_id, "client-dup");
}

TEST_F(StoreApps, ValuesWithQuotesAndUnicodeAreStoredVerbatim) {
  App a = sample_app("it's; DROP TABLE mediax.apps; --");
  a.scopes = {"a,b", "\"quoted\"", "{brace}", "中文"};
  a.client_secret = "se'cr\"et\\";
  store_->create_app(a);
  const auto got = store_->get_app(a.name, true);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->scopes, a.scopes);
  EXPECT_EQ(got->client_secret, a.client_secret);
}

TEST_F(StoreApps, UnknownAppsAreEmpty) {
  EXPECT_FALSE(store_->get_app("nope"));
  EXPECT_FALSE(store_->get_app_by_id(424242));
  EXPECT_FALSE(store_->delete_app("nope"));
}

TEST_F(StoreApps, DeleteRemovesGrantsTokensAndAuthRequestsButKeepsEvents) {
  const App app = store_->create_app(sample_app("gone"));
  const Grant g = store_->upsert_grant(sample_grant(app.id, "acct", "rt-1"), sample_token("at-1", t0()));
  store_->create_auth_request({"state-gone", app.id, "verifier", "http://cb", t0() + minutes(10)});
  store_->add_event({0, app.id, g.id, "grant_connected", {{"account_id", "acct"}}, {}});

  EXPECT_TRUE(store_->delete_app("gone"));
  EXPECT_FALSE(store_->get_app("gone"));
  EXPECT_FALSE(store_->get_grant(g.id));
  EXPECT_FALSE(store_->get_token({app.id, g.id}));
  EXPECT_TRUE(store_->all_tokens().empty());
  AuthRequest out;
  EXPECT_EQ(store_->consume_auth_request("state-gone", t0(), out), ConsumeResult::unknown);
  EXPECT_EQ(store_->list_events(app.id, std::nullopt, 10).size(), 1U);
}

TEST_F(StoreAuthRequests, ConsumeSucceedsOnceThenReportsUsed) {
  const App app = store_->create_app(sample_app("web"));
  store_->create_auth_request({"st-1", app.id, "verifier-1", "http://cb/1", t0() + minutes(10)});
  AuthRequest out;
  ASSERT_EQ(store_->consume_auth_request("st-1", t0(), out), ConsumeResult::ok);
  EXPECT_EQ(out.state, "st-1");
  EXPECT_EQ(out.app_id, app.id);
  EXPECT_EQ(out.code_verifier, "verifier-1");
  EXPECT_EQ(out.redirect_uri, "http://cb/1");
  EXPECT_EQ(out.expires_at, t0() + minutes(10));
  AuthRequest again;
  EXPECT_EQ(store_->consume_auth_request("st-1", t0() + seconds(1), again), ConsumeResult::used);
  EXPECT_EQ(again.code_verifier, "");
}

TEST_F(StoreAuthRequests, ExpiredAndUnknownStatesAreDistinguished) {
  const App app = store_->create_app(sample_app("web"));
  store_->create_auth_request({"st-old", app.id, "v", "http://cb", t0()});
  AuthRequest out;
  EXPECT_EQ(store_->consume_auth_request("st-old", t0(), out), ConsumeResult::expired);
  EXPECT_EQ(store_->consume_auth_request("st-old", t0() + minutes(1), out), ConsumeResult::expired);
  EXPECT_EQ(store_->consume_auth_request("no-such-state", t0(), out), ConsumeResult::unknown);
}

TEST_F(StoreAuthRequests, DuplicateStateIsRejectedAndUnknownAppIsAStoreError) {
  const App app = store_->create_app(sample_app("web"));
  store_->create_auth_request({"st-dup", app.id, "v", "http://cb", t0() + minutes(10)});
  EXPECT_THROW(store_->create_auth_request({"st-dup", app.id, "v2", "http://cb", t0() + minutes(10)}), DuplicateError);
  EXPECT_THROW(store_->create_auth_request({"st-x", app.id + 1000, "v", "http://cb", t0() + minutes(10)}), StoreError);
}

TEST_F(StoreAuthRequests, PurgeRemovesExpiredAndUsedRequestsOnly) {
  const App app = store_->create_app(sample_app("web"));
  store_->create_auth_request({"expired", app.id, "v", "http://cb", t0() - minutes(1)});
  store_->create_auth_request({"used", app.id, "v", "http://cb", t0() + minutes(10)});
  store_->create_auth_request({"fresh", app.id, "v", "http://cb", t0() + minutes(10)});
  AuthRequest out;
  ASSERT_EQ(store_->consume_auth_request("used", t0() - minutes(2), out), ConsumeResult::ok);
  EXPECT_EQ(store_->purge_auth_requests(t0()), 2);
  EXPECT_EQ(store_->consume_auth_request("expired", t0() - minutes(5), out), ConsumeResult::unknown);
  EXPECT_EQ(store_->consume_auth_request("fresh", t0(), out), ConsumeResult::ok);
}

TEST_F(StoreAuthRequests, TheBrowserBindingComesBackWithTheStateAndNoneIsEmpty) {
  const App app = store_->create_app(sample_app("web"));
  AuthRequest bound{"st-bound", app.id, "v", "http://cb", t0() + minutes(10)};
  bound.browser_hash = std::string(64, 'a');
  store_->create_auth_request(bound);
  store_->create_auth_request({"st-unbound", app.id, "v", "http://cb", t0() + minutes(10)});
  AuthRequest out;
  ASSERT_EQ(store_->consume_auth_request("st-bound", t0(), out), ConsumeResult::ok);
  EXPECT_EQ(out.browser_hash, std::string(64, 'a'));
  ASSERT_EQ(store_->consume_auth_request("st-unbound", t0(), out), ConsumeResult::ok);
  EXPECT_EQ(out.browser_hash, "");
}

TEST_F(StoreAuthRequests, AConnectTicketIsUsedOnceWithinItsLifeAndKeptOnlyAsItsHash) {
  const App app = store_->create_app(sample_app("web"));
  store_->create_connect_ticket({"hash-1", app.id, R"({"prompt": "consent"})", t0() + minutes(5)});
  store_->create_connect_ticket({"hash-old", app.id, "", t0()});
  ConnectTicket out;
  ASSERT_EQ(store_->consume_connect_ticket("hash-1", t0(), out), ConsumeResult::ok);
  EXPECT_EQ(out.app_id, app.id);
  EXPECT_EQ(nlohmann::json::parse(out.choices), (nlohmann::json{{"prompt", "consent"}}));
  EXPECT_EQ(out.expires_at, t0() + minutes(5));
  EXPECT_EQ(store_->consume_connect_ticket("hash-1", t0() + seconds(1), out), ConsumeResult::used);
  EXPECT_EQ(store_->consume_connect_ticket("hash-old", t0(), out), ConsumeResult::expired);
  EXPECT_EQ(store_->consume_connect_ticket("no-such-hash", t0(), out), ConsumeResult::unknown);
  EXPECT_THROW(store_->create_connect_ticket({"hash-1", app.id, "{}", t0() + minutes(5)}), DuplicateError);
  // Purged with the authorization requests once used or expired; deleted with the app.
  store_->create_connect_ticket({"hash-fresh", app.id, "{}", t0() + minutes(5)});
  EXPECT_EQ(store_->purge_auth_requests(t0() + seconds(2)), 2);
  EXPECT_EQ(store_->consume_connect_ticket("hash-old", t0() - minutes(1), out), ConsumeResult::unknown);
  EXPECT_TRUE(store_->delete_app("web"));
  EXPECT_EQ(store_->consume_connect_ticket("hash-fresh", t0(), out), ConsumeResult::unknown);
}

TEST_F(StoreEvents, ListedNewestFirstAndFiltered) {
  const App a = store_->create_app(sample_app("a"));
  const App b = store_->create_app(sample_app("b"));
  store_->add_event({0, a.id, std::nullopt, "app_registered", {{"n", 1}}, {}});
  store_->add_event({0, b.id, std::nullopt, "app_registered", {{"n", 2}}, {}});
  store_->add_event({0, a.id, 7, "refreshed", {{"n", 3}}, t0()});

  const auto all = store_->list_events(std::nullopt, std::nullopt, 100);
  ASSERT_EQ(all.size(), 3U);
  EXPECT_EQ(all[0].detail["n"], 3);
  EXPECT_EQ(all[2].detail["n"], 1);
  EXPECT_GT(all[0].id, all[1].id);
  EXPECT_EQ(all[0].at, t0());

  const auto of_a = store_->list_events(a.id, std::nullopt, 100);
  ASSERT_EQ(of_a.size(), 2U);
  EXPECT_EQ(of_a[0].kind, "refreshed");
  EXPECT_EQ(of_a[0].grant_id, std::optional<std::int64_t>(7));
  EXPECT_EQ(of_a[1].kind, "app_registered");
  EXPECT_FALSE(of_a[1].grant_id);

  EXPECT_EQ(store_->list_events(std::nullopt, 7, 100).size(), 1U);
  EXPECT_EQ(store_->list_events(std::nullopt, std::nullopt, 2).size(), 2U);
}

}  // namespace
}  // namespace mediax::test
