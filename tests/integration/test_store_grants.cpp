// PgStore: grants, tokens, the mediax.access_tokens view and NOTIFY mediax_tokens.
#include <chrono>
#include <map>

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "pg_env.hpp"

namespace mediax::test {
namespace {

using std::chrono::hours;

using StoreGrants = StoreTest;
using StoreTokenView = StoreTest;

struct ViewRow {
  std::string app_name, platform, account_id, access_token, token_type;
  std::optional<std::int64_t> grant_id;
};

std::vector<ViewRow> read_view(const std::string& url) {
  pqxx::connection c(url);
  pqxx::nontransaction tx(c);
  std::vector<ViewRow> out;
  for (const auto& r : tx.exec("SELECT app_name, platform, grant_id, account_id, access_token, token_type"
                               " FROM mediax.access_tokens ORDER BY grant_id NULLS FIRST")) {
    ViewRow v;
    v.app_name = r[0].as<std::string>();
    v.platform = r[1].as<std::string>();
    if (!r[2].is_null()) v.grant_id = r[2].as<std::int64_t>();
    v.account_id = r[3].is_null() ? "" : r[3].as<std::string>();
    v.access_token = r[4].as<std::string>();
    v.token_type = r[5].as<std::string>();
    out.push_back(v);
  }
  return out;
}

TEST_F(StoreGrants, UpsertStoresGrantAndTokenWithoutReturningTheRefreshToken) {
  const App app = store_->create_app(sample_app("app"));
  const Grant g = store_->upsert_grant(sample_grant(app.id, "acct-1", "rt-1"), sample_token("at-1", t0()));
  EXPECT_GT(g.id, 0);
  EXPECT_EQ(g.app_id, app.id);
  EXPECT_EQ(g.account_id, "acct-1");
  EXPECT_EQ(g.refresh_token, "");
  EXPECT_EQ(g.status, GrantStatus::active);
  EXPECT_EQ(g.next_refresh_at, t0() + std::chrono::minutes(50));
  EXPECT_EQ(g.extra["unionid"], "u-acct-1");

  const auto full = store_->get_grant(g.id, true);
  ASSERT_TRUE(full);
  EXPECT_EQ(full->refresh_token, "rt-1");
  EXPECT_EQ(full->refresh_expires_at, t0() + hours(24 * 30));
  EXPECT_EQ(store_->get_grant(g.id)->refresh_token, "");
  ASSERT_EQ(store_->list_grants(app.id).size(), 1U);
  EXPECT_EQ(store_->list_grants(app.id)[0].refresh_token, "");

  const auto tok = store_->get_token({0, g.id});
  ASSERT_TRUE(tok);
  EXPECT_EQ(tok->access_token, "at-1");
  EXPECT_EQ(tok->app_id, app.id);
  EXPECT_EQ(tok->grant_id, std::optional<std::int64_t>(g.id));
  EXPECT_EQ(tok->expires_at, t0());
  EXPECT_EQ(tok->scopes, std::vector<std::string>{"read"});
}

TEST_F(StoreGrants, ReconnectingTheSameAccountReplacesTheGrant) {
  const App app = store_->create_app(sample_app("app"));
  const Grant first = store_->upsert_grant(sample_grant(app.id, "acct", "rt-old"), sample_token("at-old", t0()));
  // Make it unhealthy first: a reconnect must bring it back.
  const RefreshKey key{app.id, first.id};
  ASSERT_TRUE(store_->acquire_lease(key, "w", t0(), t0() + hours(1)));
  store_->fail_refresh(
      key, "w", {OutcomeKind::needs_reauth, "invalid_grant", "expired", std::nullopt, GrantStatus::needs_reauth});

  Grant again = sample_grant(app.id, "acct", "rt-new");
  again.extra = {{"renewals", 0}};
  const Grant second = store_->upsert_grant(again, sample_token("at-new", t0() + hours(2)));
  EXPECT_EQ(second.id, first.id);
  EXPECT_EQ(second.status, GrantStatus::active);
  EXPECT_EQ(second.failure_count, 0);
  EXPECT_EQ(second.status_reason, "");
  EXPECT_EQ(second.extra, again.extra);
  EXPECT_EQ(store_->get_grant(first.id, true)->refresh_token, "rt-new");
  EXPECT_EQ(store_->get_token(key)->access_token, "at-new");
  EXPECT_EQ(store_->list_grants(app.id).size(), 1U);

  const Grant other = store_->upsert_grant(sample_grant(app.id, "acct-2", "rt-2"), sample_token("at-2", t0()));
  EXPECT_NE(other.id, first.id);
  EXPECT_EQ(store_->list_grants(app.id).size(), 2U);
}

TEST_F(StoreGrants, GrantForUnknownAppIsAStoreError) {
  EXPECT_THROW(store_->upsert_grant(sample_grant(999, "acct", "rt"), sample_token("at", t0())), StoreError);
}

TEST_F(StoreGrants, RevokeRemovesTokenAndWipesRefreshToken) {
  const App app = store_->create_app(sample_app("app"));
  const Grant g = store_->upsert_grant(sample_grant(app.id, "acct", "rt"), sample_token("at", t0()));
  ASSERT_EQ(read_view(url_).size(), 1U);

  EXPECT_TRUE(store_->revoke_grant(g.id, "user asked"));
  const auto after = store_->get_grant(g.id, true);
  ASSERT_TRUE(after);
  EXPECT_EQ(after->status, GrantStatus::revoked);
  EXPECT_EQ(after->status_reason, "user asked");
  EXPECT_EQ(after->refresh_token, "");
  EXPECT_FALSE(after->next_refresh_at);
  EXPECT_FALSE(store_->get_token({app.id, g.id}));
  EXPECT_TRUE(read_view(url_).empty());
  EXPECT_TRUE(store_->load_schedule().empty());
  EXPECT_FALSE(store_->acquire_lease({app.id, g.id}, "w", t0(), t0() + hours(1)));
  EXPECT_FALSE(store_->revoke_grant(g.id + 100, "x"));
}

TEST_F(StoreTokenView, ShowsAppAndGrantTokensOfActiveRowsOnly) {
  const App app = store_->create_app(sample_app("svc", true));
  const Grant g1 = store_->upsert_grant(sample_grant(app.id, "alice", "rt-a"), sample_token("at-alice", t0()));
  const Grant g2 = store_->upsert_grant(sample_grant(app.id, "bob", "rt-b"), sample_token("at-bob", t0()));
  ASSERT_TRUE(store_->acquire_lease({app.id, 0}, "w", t0(), t0() + hours(1)));
  RefreshSuccess s;
  s.token = sample_token("at-app", t0() + hours(2));
  s.next_refresh_at = t0() + hours(1);
  store_->complete_refresh({app.id, 0}, "w", s);

  auto rows = read_view(url_);
  ASSERT_EQ(rows.size(), 3U);
  EXPECT_FALSE(rows[0].grant_id);
  EXPECT_EQ(rows[0].access_token, "at-app");
  EXPECT_EQ(rows[0].app_name, "svc");
  EXPECT_EQ(rows[0].platform, "oauth2");
  EXPECT_EQ(rows[1].account_id, "alice");
  EXPECT_EQ(rows[1].access_token, "at-alice");
  EXPECT_EQ(rows[2].account_id, "bob");
  EXPECT_EQ(store_->all_tokens().size(), 3U);

  // bob needs re-authorization: his unexpired token is still served, never refreshed again.
  ASSERT_TRUE(store_->acquire_lease({0, g2.id}, "w", t0(), t0() + hours(1)));
  store_->fail_refresh(
      {0, g2.id}, "w",
      {OutcomeKind::needs_reauth, "invalid_grant", "revoked by user", std::nullopt, GrantStatus::needs_reauth});
  rows = read_view(url_);
  ASSERT_EQ(rows.size(), 3U);
  EXPECT_EQ(store_->all_tokens().size(), 3U);
  // Revoked: gone from the view at once.
  ASSERT_TRUE(store_->revoke_grant(g2.id, "revoked by admin"));
  rows = read_view(url_);
  ASSERT_EQ(rows.size(), 2U);
  EXPECT_EQ(rows[1].grant_id, std::optional<std::int64_t>(g1.id));
  EXPECT_EQ(store_->all_tokens().size(), 2U);
}

// The start-up load (scan_tokens, all_tokens) takes its own, cheaper SQL path (anti-join,
// float8 times, NULL for empty scopes): it must give exactly what get_token gives, row for row.
TEST_F(StoreTokenView, StartUpLoadGivesEveryServableTokenExactlyOnceAndExactly) {
  const App app = store_->create_app(sample_app("svc", true));
  const App gone = store_->create_app(sample_app("gone", true));
  std::vector<RefreshKey> servable, hidden;
  for (const App& a : {app, gone}) {
    ASSERT_TRUE(store_->acquire_lease({a.id, 0}, "w", t0(), t0() + hours(1)));
    RefreshSuccess s;
    s.token = sample_token("at-app-" + a.name, t0() + hours(2) + std::chrono::microseconds(1));
    s.next_refresh_at = t0() + hours(1);
    store_->complete_refresh({a.id, 0}, "w", s);
  }
  servable.push_back({app.id, 0});
  hidden.push_back({gone.id, 0});
  for (int i = 0; i < 7; ++i) {
    Token t = sample_token("at-" + std::to_string(i), t0() + std::chrono::microseconds(999'999 * i + 7));
    if (i % 2 == 0) t.scopes = {};  // stored as '{}'
    if (i == 3) t.scopes = {"a b", "c\"d", "é"};
    if (i == 5) t.expires_at = from_unix(4'102'444'799) + std::chrono::microseconds(999'999);  // 2099-12-31
    const Grant g = store_->upsert_grant(sample_grant(app.id, "acct-" + std::to_string(i), "rt"), t);
    (i == 1 || i == 4 ? hidden : servable).push_back({app.id, g.id});
  }
  // Grant 1 disabled (its token row stays), grant 4 revoked (token deleted), grant 6 needs
  // re-authorization (still served), the app "gone" disabled: its app token is not served.
  {
    pqxx::connection c(url_);
    pqxx::nontransaction tx(c);
    tx.exec_params("UPDATE mediax.grants SET status = 'disabled' WHERE id = $1", hidden[1].grant_id);
    tx.exec_params("UPDATE mediax.apps SET status = 'disabled' WHERE id = $1", gone.id);
  }
  ASSERT_TRUE(store_->revoke_grant(hidden[2].grant_id, "x"));
  const RefreshKey reauth = servable.back();
  ASSERT_TRUE(store_->acquire_lease(reauth, "w", t0(), t0() + hours(1)));
  store_->fail_refresh(reauth, "w",
                       {OutcomeKind::needs_reauth, "invalid_grant", "no", std::nullopt, GrantStatus::needs_reauth});

  // Fetched two rows at a time; the Token handed over is reused for the next row, so a field of
  // one row (scopes, a grant id) left in the next shows as a difference from get_token below.
  std::map<std::uint64_t, Token> scanned;
  store_->scan_tokens(2, [&](const Token& t) {
    const RefreshKey key{t.app_id, t.grant_id.value_or(0)};
    EXPECT_TRUE(scanned.emplace(key.pack(), t).second) << "twice: grant " << key.grant_id;
  });
  const auto all = store_->all_tokens();
  ASSERT_EQ(all.size(), servable.size());
  ASSERT_EQ(scanned.size(), servable.size());
  for (const auto& t : all) EXPECT_TRUE(scanned.count(RefreshKey{t.app_id, t.grant_id.value_or(0)}.pack()));
  for (const auto& key : servable) {
    SCOPED_TRACE("grant " + std::to_string(key.grant_id));
    const auto want = store_->get_token(key);
    ASSERT_TRUE(want);
    ASSERT_TRUE(scanned.count(key.pack()));
    const Token& got = scanned.at(key.pack());
    EXPECT_EQ(got.app_id, want->app_id);
    EXPECT_EQ(got.grant_id, want->grant_id);
    EXPECT_EQ(got.access_token, want->access_token);
    EXPECT_EQ(got.token_type, want->token_type);
    EXPECT_EQ(got.scopes, want->scopes);
    EXPECT_EQ(got.expires_at, want->expires_at);
    EXPECT_EQ(got.refreshed_at, want->refreshed_at);
  }
  for (const auto& key : hidden) EXPECT_FALSE(scanned.count(key.pack())) << "grant " << key.grant_id;
  EXPECT_EQ(scanned.at(servable[3].pack()).scopes, (std::vector<std::string>{"a b", "c\"d", "é"}));
  EXPECT_EQ(scanned.at(servable[4].pack()).expires_at, from_unix(4'102'444'799) + std::chrono::microseconds(999'999));
}

TEST_F(StoreTokenView, AReaderWithSelectOnTheViewOnlyCanReadItButNotTheTables) {
  const App app = store_->create_app(sample_app("app"));
  store_->upsert_grant(sample_grant(app.id, "acct", "rt"), sample_token("at", t0()));
  const std::string role = "reader_" + std::to_string(app.id) + "_" + unique_db_name("r");
  {
    pqxx::connection admin(url_);
    pqxx::nontransaction tx(admin);
    tx.exec("CREATE ROLE " + tx.quote_name(role) + " LOGIN");
    tx.exec("GRANT USAGE ON SCHEMA mediax TO " + tx.quote_name(role));
    tx.exec("GRANT SELECT ON mediax.access_tokens TO " + tx.quote_name(role));
  }
  pqxx::connection reader(url_ + " user=" + role);
  {
    pqxx::nontransaction tx(reader);
    const auto r = tx.exec("SELECT access_token, account_id FROM mediax.access_tokens");
    ASSERT_EQ(r.size(), 1U);
    EXPECT_EQ(r[0][0].as<std::string>(), "at");
  }
  pqxx::nontransaction tx(reader);
  EXPECT_THROW(tx.exec("SELECT refresh_token FROM mediax.grants"), pqxx::insufficient_privilege);
}

class Collect final : public pqxx::notification_receiver {
 public:
  explicit Collect(pqxx::connection_base& c) : pqxx::notification_receiver(c, "mediax_tokens") {}
  void operator()(const std::string& payload, int) override { payloads.push_back(payload); }
  std::vector<std::string> payloads;
};

// Waits until n notifications arrived (or a few seconds passed).
void await(pqxx::connection& c, const Collect& got, std::size_t n) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (got.payloads.size() < n && std::chrono::steady_clock::now() < deadline) c.await_notification(1, 0);
}

TEST_F(StoreTokenView, TokenChangesAreNotifiedWithoutTheToken) {
  pqxx::connection listener(url_);
  Collect got(listener);
  const App app = store_->create_app(sample_app("notify-app"));
  const Grant g = store_->upsert_grant(sample_grant(app.id, "acct", "rt-secret"), sample_token("at-secret-1", t0()));
  await(listener, got, 1);
  ASSERT_EQ(got.payloads.size(), 1U);
  const auto first = nlohmann::json::parse(got.payloads[0]);
  EXPECT_EQ(first["op"], "insert");
  EXPECT_EQ(first["app_id"], app.id);
  EXPECT_EQ(first["grant_id"], g.id);
  EXPECT_EQ(first["app_name"], "notify-app");
  EXPECT_EQ(first["expires_at"], format_time(t0()));

  ASSERT_TRUE(store_->acquire_lease({0, g.id}, "w", t0(), t0() + hours(1)));
  RefreshSuccess s;
  s.token = sample_token("at-secret-2", t0() + hours(1));
  s.new_refresh_token = "rt-secret-2";
  s.next_refresh_at = t0() + std::chrono::minutes(50);
  store_->complete_refresh({0, g.id}, "w", s);
  store_->revoke_grant(g.id, "done");
  await(listener, got, 3);
  ASSERT_EQ(got.payloads.size(), 3U);
  EXPECT_EQ(nlohmann::json::parse(got.payloads[1])["op"], "update");
  EXPECT_EQ(nlohmann::json::parse(got.payloads[2])["op"], "delete");
  for (const auto& p : got.payloads) {
    EXPECT_EQ(p.find("at-secret"), std::string::npos) << p;
    EXPECT_EQ(p.find("rt-secret"), std::string::npos) << p;
  }
}

}  // namespace
}  // namespace mediax::test
