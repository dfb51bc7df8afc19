// PgStore: secrets at rest. What the database holds is sealed (AES-256-GCM, "v1:<key id>:..."),
// a value copied to another row does not open (and does not crash anything), and key rotation
// re-seals everything online without losing a refresh token written meanwhile.
#include <atomic>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "pg_env.hpp"
#include "runtime/rotate_key.hpp"
#include "store/pg_store.hpp"

namespace mediax::test {
namespace {

using std::chrono::hours;
using std::chrono::minutes;

std::shared_ptr<const crypto::Sealer> sealer_of(std::vector<crypto::SealKey> keys) {
  return std::make_shared<const crypto::Sealer>(std::move(keys));
}

std::string raw(const std::string& url, const std::string& sql) {
  pqxx::connection c(url);
  pqxx::nontransaction tx(c);
  const auto r = tx.exec(sql);
  return r.empty() || r[0][0].is_null() ? std::string() : r[0][0].as<std::string>();
}

void exec(const std::string& url, const std::string& sql) {
  pqxx::connection c(url);
  pqxx::nontransaction tx(c);
  tx.exec(sql);
}

// Every non-empty value of every sealed column, as stored.
std::vector<std::string> stored_secrets(const std::string& url) {
  pqxx::connection c(url);
  pqxx::nontransaction tx(c);
  std::vector<std::string> out;
  for (const char* sql : {"SELECT client_secret FROM mediax.apps WHERE client_secret <> ''",
                          "SELECT refresh_token FROM mediax.grants WHERE refresh_token <> ''",
                          "SELECT code_verifier FROM mediax.auth_requests WHERE code_verifier <> ''"}) {
    for (const auto& r : tx.exec(sql)) out.push_back(r[0].as<std::string>());
  }
  return out;
}

class StoreSealing : public StoreTest {
 protected:
  std::string current_prefix() const { return "v1:" + test_sealer()->current_key_id() + ":"; }
};

TEST_F(StoreSealing, SecretsAreStoredSealedAndReadBackAsGiven) {
  const App app = store_->create_app(sample_app("shop"));
  EXPECT_EQ(app.client_secret, "secret-of-shop");
  const Grant g =
      store_->upsert_grant(sample_grant(app.id, "acct", "rt-plain-1"), sample_token("at-1", t0() + hours(1)));
  store_->create_auth_request({"state-1", app.id, "verifier-plain-1", "http://cb", t0() + minutes(10)});

  const auto secrets = stored_secrets(url_);
  ASSERT_EQ(secrets.size(), 3U);
  // The app's secret is bound to its endpoints as well (v2); the others are v1.
  EXPECT_EQ(secrets[0].rfind("v2:" + test_sealer()->current_key_id() + ":", 0), 0U) << secrets[0];
  for (std::size_t i = 1; i < secrets.size(); ++i) EXPECT_EQ(secrets[i].rfind(current_prefix(), 0), 0U) << secrets[i];
  for (const auto& s : secrets) {
    EXPECT_EQ(s.find("plain"), std::string::npos) << s;
    EXPECT_EQ(s.find("secret-of"), std::string::npos) << s;
  }
  // Access tokens stay readable for other programs.
  EXPECT_EQ(raw(url_, "SELECT access_token FROM mediax.access_tokens"), "at-1");

  EXPECT_EQ(store_->get_app("shop", true)->client_secret, "secret-of-shop");
  EXPECT_EQ(store_->get_app_by_id(app.id, true)->client_secret, "secret-of-shop");
  EXPECT_EQ(store_->get_grant(g.id, true)->refresh_token, "rt-plain-1");
  const auto job = store_->acquire_lease({app.id, g.id}, "w", t0(), t0() + minutes(1));
  ASSERT_TRUE(job);
  EXPECT_TRUE(job->unreadable.empty()) << job->unreadable;
  EXPECT_EQ(job->app.client_secret, "secret-of-shop");
  EXPECT_EQ(job->grant->refresh_token, "rt-plain-1");

  // A rotated refresh token is sealed too.
  RefreshSuccess s;
  s.token = sample_token("at-2", t0() + hours(2));
  s.new_refresh_token = "rt-plain-2";
  s.next_refresh_at = t0() + hours(1);
  store_->complete_refresh({app.id, g.id}, "w", s);
  const auto stored = raw(url_, "SELECT refresh_token FROM mediax.grants WHERE id = " + std::to_string(g.id));
  EXPECT_EQ(stored.rfind(current_prefix(), 0), 0U) << stored;
  EXPECT_EQ(store_->get_grant(g.id, true)->refresh_token, "rt-plain-2");

  AuthRequest out;
  ASSERT_EQ(store_->consume_auth_request("state-1", t0(), out), ConsumeResult::ok);
  EXPECT_EQ(out.code_verifier, "verifier-plain-1");

  // Reconnecting the account replaces the sealed token of the same row.
  const Grant again =
      store_->upsert_grant(sample_grant(app.id, "acct", "rt-plain-3"), sample_token("at-3", t0() + hours(1)));
  EXPECT_EQ(again.id, g.id);
  EXPECT_EQ(store_->get_grant(g.id, true)->refresh_token, "rt-plain-3");
}

TEST_F(StoreSealing, EmptySecretsStayEmpty) {
  App a = sample_app("public");
  a.client_secret.clear();
  const App app = store_->create_app(a);
  const Grant g = store_->upsert_grant(sample_grant(app.id, "acct", ""), sample_token("at-1", t0() + hours(1)));
  EXPECT_EQ(raw(url_, "SELECT client_secret FROM mediax.apps"), "");
  EXPECT_EQ(raw(url_, "SELECT refresh_token FROM mediax.grants"), "");
  EXPECT_EQ(store_->get_grant(g.id, true)->refresh_token, "");
}

TEST_F(StoreSealing, ACiphertextCopiedToAnotherRowDoesNotOpenAndTheRefreshJobSaysWhy) {
  const App app = store_->create_app(sample_app("shop"));
  const Grant a = store_->upsert_grant(sample_grant(app.id, "a", "rt-of-a"), sample_token("at-a", t0() + hours(1)));
  const Grant b = store_->upsert_grant(sample_grant(app.id, "b", "rt-of-b"), sample_token("at-b", t0() + hours(1)));
  // Someone with write access to the database gives b the refresh token of a.
  exec(url_, "UPDATE mediax.grants SET refresh_token = (SELECT refresh_token FROM mediax.grants WHERE id = " +
                 std::to_string(a.id) + ") WHERE id = " + std::to_string(b.id));

  try {
    store_->get_grant(b.id, true);
    FAIL() << "a refresh token copied from another row opened";
  } catch (const SecretUnreadableError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("grant " + std::to_string(b.id)), std::string::npos) << msg;
    EXPECT_EQ(msg.find("rt-of"), std::string::npos) << msg;
  }
  EXPECT_EQ(store_->get_grant(a.id, true)->refresh_token, "rt-of-a") << "the original still opens";
  EXPECT_TRUE(store_->get_grant(b.id).has_value()) << "reading without the secret still works";

  // The refresh of b gets a job that says the secret is unreadable and carries no secret.
  const auto job = store_->acquire_lease({app.id, b.id}, "w", t0(), t0() + minutes(1));
  ASSERT_TRUE(job);
  EXPECT_NE(job->unreadable.find("grant " + std::to_string(b.id)), std::string::npos) << job->unreadable;
  EXPECT_EQ(job->grant->refresh_token, "");
  EXPECT_EQ(job->app.client_secret, "");

  // Moving a value to another column does not work either.
  exec(url_, "UPDATE mediax.apps SET client_secret = (SELECT refresh_token FROM mediax.grants WHERE id = " +
                 std::to_string(a.id) + ")");
  EXPECT_THROW(store_->get_app("shop", true), SecretUnreadableError);
  EXPECT_EQ(store_->list_apps().size(), 1U);
}

TEST_F(StoreSealing, AValueSealedWithAKeyNotLoadedPostponesTheRefreshWithoutTakingTheLease) {
  auto other = make_pg_store(url_, 2, sealer_of({test_seal_key('N')}));
  const App app = other->create_app(sample_app("shop"));
  const Grant g = other->upsert_grant(sample_grant(app.id, "a", "rt-a"), sample_token("at-a", t0() + hours(1)));
  try {
    store_->acquire_lease({app.id, g.id}, "w", t0(), t0() + minutes(1));
    FAIL() << "opened a value sealed with a key that is not loaded";
  } catch (const SecretUnreadableError& e) {
    EXPECT_NE(std::string(e.what()).find(test_seal_key('N').id), std::string::npos) << e.what();
  }
  // Nothing was leased: the instance that has the key takes it at once.
  EXPECT_TRUE(other->acquire_lease({app.id, g.id}, "x", t0(), t0() + minutes(1)));

  long long plain = -1;
  const auto problem = check_stored_key_ids(url_, *test_sealer(), plain);
  EXPECT_NE(problem.find(test_seal_key('N').id), std::string::npos) << problem;
  EXPECT_EQ(check_stored_key_ids(url_, *sealer_of({test_seal_key('N')}), plain), "");
  EXPECT_EQ(plain, 0);
}

TEST_F(StoreSealing, AStoreWithoutAKeyRefusesToStoreSecrets) {
  auto keyless = make_pg_store(url_, 1);
  EXPECT_THROW(keyless->create_app(sample_app("shop")), StoreError);
  EXPECT_TRUE(keyless->list_apps().empty()) << "nothing stored in plain text";
}

// A database writer points the app's token endpoint elsewhere: its secret no longer opens, the
// refresh job carries no secret and says why, the app is marked misconfigured; the API setting
// the secret again binds it to the endpoint the row names now.
TEST_F(StoreSealing, AnAppSecretOpensOnlyForTheTokenEndpointItWasSealedFor) {
  const App app = store_->create_app(sample_app("shop"));
  const Grant g = store_->upsert_grant(sample_grant(app.id, "a", "rt-a"), sample_token("at-a", t0() + hours(1)));
  const std::string id = std::to_string(app.id);
  exec(url_, "UPDATE mediax.apps SET token_url = 'https://attacker.example/token' WHERE id = " + id);
  try {
    store_->get_app("shop", true);
    FAIL() << "the secret opened for another token endpoint";
  } catch (const SecretUnreadableError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("app 'shop'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("token endpoint changed since the secret was sealed"), std::string::npos) << msg;
    EXPECT_NE(msg.find("now https://attacker.example"), std::string::npos) << msg;
    EXPECT_EQ(msg.find("secret-of-shop"), std::string::npos) << msg;
  }
  const auto marked = store_->get_app("shop", false);
  ASSERT_TRUE(marked);
  EXPECT_NE(marked->misconfigured.find("token endpoint changed"), std::string::npos) << marked->misconfigured;
  EXPECT_TRUE(marked->misconfigured_at.has_value());

  const auto job = store_->acquire_lease({app.id, g.id}, "w", t0(), t0() + minutes(1));
  ASSERT_TRUE(job);
  EXPECT_NE(job->unreadable.find("token endpoint changed"), std::string::npos) << job->unreadable;
  EXPECT_EQ(job->app.client_secret, "");
  EXPECT_EQ(job->grant->refresh_token, "");

  // The revocation endpoint is bound too (OAuth 2.0 sends the secret there).
  store_->update_app_secrets(app.id, std::string("secret-2"), std::nullopt, std::nullopt);
  EXPECT_TRUE(store_->get_app("shop", false)->misconfigured.empty()) << "setting the secret clears the mark";
  EXPECT_EQ(store_->get_app("shop", true)->client_secret, "secret-2") << "bound to the endpoint the row names now";
  exec(url_, "UPDATE mediax.apps SET revocation_url = 'https://attacker.example/revoke' WHERE id = " + id);
  try {
    store_->get_app_by_id(app.id, true);
    FAIL() << "the secret opened for another revocation endpoint";
  } catch (const SecretUnreadableError& e) {
    EXPECT_NE(std::string(e.what()).find("revocation endpoint changed since the secret was sealed"), std::string::npos)
        << e.what();
  }
}

// The upgrade step of `mediaxd migrate`: plain text sealed, v1 app secrets bound; values under an
// older key otherwise left as they are (that is rotate-key's job); a second run does nothing.
TEST_F(StoreSealing, TheUpgradeBindsV1AppSecretsAndSealsPlainTextOnly) {
  const App app = store_->create_app(sample_app("shop"));
  const Grant a = store_->upsert_grant(sample_grant(app.id, "a", "rt-a"), sample_token("at-a", t0() + hours(1)));
  const Grant b = store_->upsert_grant(sample_grant(app.id, "b", "rt-b"), sample_token("at-b", t0() + hours(1)));
  const std::string id = std::to_string(app.id);
  exec(url_, "UPDATE mediax.apps SET client_secret = '" +
                 test_sealer()->seal("secret-of-shop", crypto::seal_context("apps.client_secret", id)) +
                 "' WHERE id = " + id);
  exec(url_, "UPDATE mediax.grants SET refresh_token = 'rt-plain' WHERE id = " + std::to_string(b.id));
  const auto grant_a = raw(url_, "SELECT refresh_token FROM mediax.grants WHERE id = " + std::to_string(a.id));
  EXPECT_THROW(store_->get_app("shop", true), SecretUnreadableError) << "a v1 app secret is bound to nothing";
  EXPECT_THROW(store_->get_grant(b.id, true), SecretUnreadableError) << "plain text is never used";

  auto& pg = dynamic_cast<pg::PgStore&>(*store_);
  EXPECT_EQ(pg.count_values_to_upgrade(), 2);
  std::map<std::string, pg::ResealCounts> by_column;
  for (const auto& r : pg.reseal_all(1, pg::ResealMode::upgrade)) by_column[r.column] = r;
  EXPECT_EQ(by_column["apps.client_secret"].bound, 1);
  EXPECT_EQ(by_column["grants.refresh_token"].sealed_plain, 1);
  EXPECT_EQ(by_column["grants.refresh_token"].resealed, 0) << "v1 values of unbound columns are left alone";
  EXPECT_EQ(raw(url_, "SELECT refresh_token FROM mediax.grants WHERE id = " + std::to_string(a.id)), grant_a);
  EXPECT_EQ(pg.count_values_to_upgrade(), 0);
  EXPECT_EQ(store_->get_app("shop", true)->client_secret, "secret-of-shop");
  EXPECT_EQ(store_->get_grant(b.id, true)->refresh_token, "rt-plain");
  for (const auto& r : pg.reseal_all(1, pg::ResealMode::upgrade)) {
    EXPECT_EQ(r.resealed + r.sealed_plain + r.bound, 0) << r.column;
  }
}

// Rotation: K1 is the old key, K2 the new one.
class KeyRotation : public ::testing::Test {
 protected:
  void SetUp() override {
    url_ = cluster().create_migrated_database(unique_db_name("rotation"));
    k1_ = test_seal_key('1');
    k2_ = test_seal_key('2');
    old_ = std::make_unique<pg::PgStore>(url_, 4, sealer_of({k1_}));
    both_ = std::make_unique<pg::PgStore>(url_, 4, sealer_of({k2_, k1_}));
    new_ = std::make_unique<pg::PgStore>(url_, 4, sealer_of({k2_}));
  }

  std::int64_t count_with_prefix(const std::string& prefix) {
    std::int64_t n = 0;
    for (const auto& s : stored_secrets(url_)) n += s.rfind(prefix, 0) == 0 ? 1 : 0;
    return n;
  }

  std::string url_;
  crypto::SealKey k1_, k2_;
  std::unique_ptr<pg::PgStore> old_, both_, new_;
};

TEST_F(KeyRotation, RotateReSealsEverythingUnderTheNewKeyAndSealsLegacyPlainText) {
  Store& old_store = *old_;
  const App app = old_store.create_app(sample_app("shop"));
  std::vector<Grant> grants;
  for (int i = 0; i < 7; ++i) {
    grants.push_back(
        old_store.upsert_grant(sample_grant(app.id, "acct-" + std::to_string(i), "rt-" + std::to_string(i)),
                               sample_token("at-" + std::to_string(i), t0() + hours(1))));
  }
  old_store.create_auth_request({"state-1", app.id, "verifier-1", "http://cb", t0() + minutes(10)});
  // A value from before encryption at rest.
  exec(url_, "UPDATE mediax.grants SET refresh_token = 'legacy-plain' WHERE id = " + std::to_string(grants[6].id));

  // A daemon configured with the new key and the old one reads everything sealed; plain text is
  // never used.
  Store& both_store = *both_;
  for (int i = 0; i < 6; ++i)
    EXPECT_EQ(both_store.get_grant(grants[i].id, true)->refresh_token, "rt-" + std::to_string(i));
  EXPECT_THROW(both_store.get_grant(grants[6].id, true), SecretUnreadableError);

  const auto report = both_->reseal_all(3);  // small batches: several rounds per column
  std::map<std::string, pg::ResealCounts> by_column;
  for (const auto& r : report) by_column[r.column] = r;
  EXPECT_EQ(by_column["apps.client_secret"].resealed, 1);
  EXPECT_EQ(by_column["grants.refresh_token"].resealed, 6);
  EXPECT_EQ(by_column["grants.refresh_token"].sealed_plain, 1);
  EXPECT_EQ(by_column["auth_requests.code_verifier"].resealed, 1);
  for (const auto& r : report) EXPECT_TRUE(r.unreadable.empty()) << r.column;

  const auto secrets = stored_secrets(url_);
  ASSERT_EQ(secrets.size(), 9U);
  EXPECT_EQ(count_with_prefix("v1:" + k2_.id + ":"), 8);
  EXPECT_EQ(count_with_prefix("v2:" + k2_.id + ":"), 1) << "the app's secret, bound";
  for (const auto& c : new_->count_sealed_values()) EXPECT_EQ(c.key_id, k2_.id) << c.column;

  // Only the new key is needed now; the old one no longer opens anything.
  Store& new_store = *new_;
  for (int i = 0; i < 6; ++i)
    EXPECT_EQ(new_store.get_grant(grants[i].id, true)->refresh_token, "rt-" + std::to_string(i));
  EXPECT_EQ(new_store.get_grant(grants[6].id, true)->refresh_token, "legacy-plain");
  EXPECT_EQ(new_store.get_app("shop", true)->client_secret, "secret-of-shop");
  AuthRequest out;
  ASSERT_EQ(new_store.consume_auth_request("state-1", t0(), out), ConsumeResult::ok);
  EXPECT_EQ(out.code_verifier, "verifier-1");
  EXPECT_THROW(old_store.get_grant(grants[0].id, true), SecretUnreadableError);

  // Nothing left to do the second time.
  for (const auto& r : both_->reseal_all(3)) {
    EXPECT_EQ(r.resealed + r.sealed_plain, 0) << r.column;
  }
}

TEST_F(KeyRotation, RotateReportsRowsThatDoNotOpenAndLeavesThemAlone) {
  Store& old_store = *old_;
  const App app = old_store.create_app(sample_app("shop"));
  const Grant a = old_store.upsert_grant(sample_grant(app.id, "a", "rt-a"), sample_token("at-a", t0() + hours(1)));
  const Grant b = old_store.upsert_grant(sample_grant(app.id, "b", "rt-b"), sample_token("at-b", t0() + hours(1)));
  exec(url_, "UPDATE mediax.grants SET refresh_token = (SELECT refresh_token FROM mediax.grants WHERE id = " +
                 std::to_string(a.id) + ") WHERE id = " + std::to_string(b.id));
  const auto moved = raw(url_, "SELECT refresh_token FROM mediax.grants WHERE id = " + std::to_string(b.id));
  std::vector<std::string> unreadable;
  for (const auto& r : both_->reseal_all())
    unreadable.insert(unreadable.end(), r.unreadable.begin(), r.unreadable.end());
  ASSERT_EQ(unreadable.size(), 1U);
  EXPECT_NE(unreadable[0].find("grant " + std::to_string(b.id)), std::string::npos) << unreadable[0];
  EXPECT_EQ(unreadable[0].find("rt-"), std::string::npos) << unreadable[0];
  EXPECT_EQ(raw(url_, "SELECT refresh_token FROM mediax.grants WHERE id = " + std::to_string(b.id)), moved);
  Store& new_store = *new_;
  EXPECT_EQ(new_store.get_grant(a.id, true)->refresh_token, "rt-a");
}

// A daemon keeps refreshing (and rotating refresh tokens) while rotate-key runs: every grant
// ends with the refresh token written last, readable with the new key alone.
TEST_F(KeyRotation, RotateRacingConcurrentRefreshWritesLosesNothing) {
  constexpr int kGrants = 120;
  Store& old_store = *old_;
  const App app = old_store.create_app(sample_app("shop"));
  std::vector<std::int64_t> ids;
  std::map<std::int64_t, std::string> last;  // grant -> refresh token written last
  for (int i = 0; i < kGrants; ++i) {
    const std::string rt = "rt-" + std::to_string(i) + "-0";
    ids.push_back(
        old_store
            .upsert_grant(sample_grant(app.id, "acct-" + std::to_string(i), rt), sample_token("at", t0() + hours(1)))
            .id);
    last[ids.back()] = rt;
  }

  // The daemon was restarted with the new key first (the documented procedure): it seals with K2.
  Store& daemon = *both_;
  std::atomic<bool> stop{false};
  std::atomic<int> writes{0};
  std::mutex mu;
  std::thread writer([&] {
    std::mt19937 rng(42);
    for (int n = 1; !stop; ++n) {
      const auto id = ids[std::uniform_int_distribution<std::size_t>(0, ids.size() - 1)(rng)];
      const std::string owner = "daemon-" + std::to_string(n);
      if (!daemon.acquire_lease({app.id, id}, owner, t0(), t0() + minutes(1))) continue;
      RefreshSuccess s;
      s.token = sample_token("at-" + std::to_string(n), t0() + hours(2));
      s.new_refresh_token = "rt-" + std::to_string(id) + "-" + std::to_string(n);
      s.next_refresh_at = t0() + hours(1);
      daemon.complete_refresh({app.id, id}, owner, s);
      std::lock_guard lk(mu);
      last[id] = *s.new_refresh_token;
      ++writes;
    }
  });
  while (writes < 5) std::this_thread::yield();
  std::vector<pg::ResealCounts> report;
  for (int round = 0; round < 3; ++round) {
    const auto r = both_->reseal_all(4);
    report.insert(report.end(), r.begin(), r.end());
  }
  const int writes_during = writes;
  stop = true;
  writer.join();
  EXPECT_GT(writes_during, 5) << "the writer did not run alongside the rotation";

  std::int64_t resealed = 0;
  for (const auto& r : report) {
    EXPECT_TRUE(r.unreadable.empty()) << r.column;
    if (r.column == "grants.refresh_token") resealed += r.resealed;
  }
  EXPECT_GT(resealed, 0);
  EXPECT_EQ(count_with_prefix("v1:" + k1_.id + ":"), 0) << "values still under the old key";
  Store& new_store = *new_;
  for (const auto id : ids) {
    EXPECT_EQ(new_store.get_grant(id, true)->refresh_token, last[id]) << "grant " << id;
  }
}

}  // namespace
}  // namespace mediax::test
