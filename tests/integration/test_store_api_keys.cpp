// PgStore: admin API keys, and the ApiKeyRegistry on top of it (reload, revocation).
#include <gtest/gtest.h>

#include <pqxx/pqxx>

#include "util/time_source.hpp"
#include "pg_env.hpp"
#include "service/api_keys.hpp"
#include "support/manual_time_source.hpp"

namespace mediax::test {
namespace {

using StoreApiKeys = StoreTest;

TEST_F(StoreApiKeys, CreateListRevokeAndTouch) {
  const std::string h1 = hash_api_key("mxk_one");
  const auto k = store_->create_api_key("ops", "admin", h1);
  EXPECT_GT(k.id, 0);
  EXPECT_EQ(k.name, "ops");
  EXPECT_EQ(k.role, "admin");
  EXPECT_EQ(k.hash_hex, h1);
  EXPECT_FALSE(k.last_used_at);
  EXPECT_FALSE(k.revoked_at);
  store_->create_api_key("app", "reader", hash_api_key("mxk_two"));

  auto all = store_->list_api_keys();
  ASSERT_EQ(all.size(), 2U);
  EXPECT_EQ(all[0].name, "app");
  EXPECT_EQ(all[1].name, "ops");

  store_->touch_api_keys({"ops"}, t0());
  EXPECT_TRUE(store_->revoke_api_key("app", t0()));
  EXPECT_FALSE(store_->revoke_api_key("app", t0())) << "already revoked";
  EXPECT_FALSE(store_->revoke_api_key("nobody", t0()));
  all = store_->list_api_keys();
  EXPECT_EQ(all[0].revoked_at, t0());
  EXPECT_EQ(all[1].last_used_at, t0());
  EXPECT_FALSE(all[1].revoked_at);
}

TEST_F(StoreApiKeys, NamesAreUniqueEvenAfterRevocationAndBadRowsAreRefused) {
  store_->create_api_key("ops", "admin", hash_api_key("a"));
  EXPECT_THROW(store_->create_api_key("ops", "reader", hash_api_key("b")), DuplicateError);
  store_->revoke_api_key("ops", t0());
  EXPECT_THROW(store_->create_api_key("ops", "reader", hash_api_key("c")), DuplicateError);
  EXPECT_THROW(store_->create_api_key("x", "root", hash_api_key("d")), StoreError);
  EXPECT_THROW(store_->create_api_key("y", "admin", "not-a-hash"), StoreError);
}

TEST_F(StoreApiKeys, AReaderKeysAppScopeIsStoredAndListedAndAdminKeysTakeNone) {
  const std::string scoped = generate_api_key();
  const auto k = store_->create_api_key("crm-reader", "reader", hash_api_key(scoped), {"crm", "shop-*"});
  EXPECT_EQ(k.apps, (std::vector<std::string>{"crm", "shop-*"}));
  store_->create_api_key("all-reader", "reader", hash_api_key("mxk_all"));
  store_->create_api_key("ops", "admin", hash_api_key("mxk_ops"));
  const auto all = store_->list_api_keys();
  ASSERT_EQ(all.size(), 3U);
  EXPECT_TRUE(all[0].apps.empty()) << "all-reader: no scope, every app";
  EXPECT_EQ(all[1].apps, (std::vector<std::string>{"crm", "shop-*"}));
  EXPECT_TRUE(all[2].apps.empty());

  // The table refuses what would widen or blur a key: a scoped admin key, an empty scope.
  EXPECT_THROW(store_->create_api_key("adm2", "admin", hash_api_key("mxk_adm2"), {"crm"}), StoreError);
  {
    pqxx::connection c(url_);
    pqxx::work tx(c);
    EXPECT_THROW(tx.exec_params("INSERT INTO mediax.api_keys (name, role, hash, apps) VALUES ('e', 'reader', $1, '{}')",
                                hash_api_key("mxk_e")),
                 pqxx::check_violation);
  }

  // The registry hands the scope to the Dispatcher with the match.
  ManualTimeSource clock;
  ApiKeyRegistry reg(*store_, clock);
  reg.load();
  const auto m = reg.check(scoped);
  EXPECT_EQ(m.kind, ApiKeyMatch::Kind::ok);
  EXPECT_EQ(m.apps, (std::vector<std::string>{"crm", "shop-*"}));
}

TEST_F(StoreApiKeys, RegistryFindsKeysAndSeesRevocationAtItsNextRefresh) {
  ManualTimeSource clock;
  const std::string admin_key = generate_api_key();
  const std::string reader_key = generate_api_key();
  store_->create_api_key("adm", "admin", hash_api_key(admin_key));
  ApiKeyRegistry reg(*store_, clock, std::chrono::milliseconds(50));
  reg.load();

  auto m = reg.check(admin_key);
  EXPECT_EQ(m.kind, ApiKeyMatch::Kind::ok);
  EXPECT_EQ(m.name, "adm");
  EXPECT_EQ(m.role, ApiRole::admin);
  EXPECT_EQ(reg.check("mxk_wrong").kind, ApiKeyMatch::Kind::unknown);

  // check_if_loaded answers the same from memory, and declines where check() would reload.
  ASSERT_TRUE(reg.check_if_loaded(admin_key).has_value());
  EXPECT_EQ(reg.check_if_loaded(admin_key)->name, "adm");
  clock.advance(std::chrono::milliseconds(60));
  EXPECT_FALSE(reg.check_if_loaded(reader_key).has_value()) << "unknown key, a reload may bring it";

  // A key created after the load works at once (reload on a miss).
  store_->create_api_key("rdr", "reader", hash_api_key(reader_key));
  m = reg.check(reader_key);
  EXPECT_EQ(m.kind, ApiKeyMatch::Kind::ok);
  EXPECT_EQ(m.role, ApiRole::reader);

  store_->revoke_api_key("adm", clock.system());
  EXPECT_EQ(reg.check(admin_key).kind, ApiKeyMatch::Kind::ok) << "known keys are answered from memory";
  reg.refresh();  // the janitor's periodic reload
  m = reg.check(admin_key);
  EXPECT_EQ(m.kind, ApiKeyMatch::Kind::revoked);
  EXPECT_EQ(m.name, "adm");

  // Used keys get last_used_at on the next reload.
  reg.check(reader_key);
  reg.refresh();
  bool touched = false;
  for (const auto& k : store_->list_api_keys()) {
    if (k.name == "rdr") touched = k.last_used_at == clock.system();
  }
  EXPECT_TRUE(touched);
}

}  // namespace
}  // namespace mediax::test
