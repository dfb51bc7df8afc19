// ApiKeyRegistry over a FakeApiKeyStore with a ManualTimeSource: the janitor's refresh picks up new
// and revoked keys, an unknown key reloads at most every miss interval, used keys are touched in
// one batch, and a failing store leaves the loaded keys in force.
#include <gtest/gtest.h>

#include <future>
#include <thread>

#include "service/api_keys.hpp"
#include "support/manual_time_source.hpp"
#include "support/store_fakes/api_key_store.hpp"

namespace mediax {
namespace {

using namespace std::chrono_literals;

class ApiKeyRegistryTest : public ::testing::Test {
 protected:
  void create(const std::string& name, const std::string& role, const std::string& key) {
    store_.create_api_key(name, role, hash_api_key(key));
  }

  ManualTimeSource time_;
  FakeApiKeyStore store_;
  ApiKeyRegistry registry_{store_, time_, 500ms};
  const std::string admin_key_ = generate_api_key();
  const std::string reader_key_ = generate_api_key();
};

TEST_F(ApiKeyRegistryTest, RefreshPicksUpANewAndARevokedKey) {
  create("adm", "admin", admin_key_);
  registry_.load();
  auto m = registry_.check(admin_key_);
  EXPECT_EQ(m.kind, ApiKeyMatch::Kind::ok);
  EXPECT_EQ(m.name, "adm");
  EXPECT_EQ(m.role, ApiRole::admin);

  create("rdr", "reader", reader_key_);
  store_.revoke_api_key("adm", time_.system());
  EXPECT_EQ(registry_.check(admin_key_).kind, ApiKeyMatch::Kind::ok) << "known keys are answered from memory";
  const int lists = store_.lists();

  registry_.refresh();
  EXPECT_EQ(store_.lists(), lists + 1);
  m = registry_.check(admin_key_);
  EXPECT_EQ(m.kind, ApiKeyMatch::Kind::revoked);
  EXPECT_EQ(m.name, "adm");
  m = registry_.check(reader_key_);
  EXPECT_EQ(m.kind, ApiKeyMatch::Kind::ok);
  EXPECT_EQ(m.role, ApiRole::reader);
  EXPECT_EQ(store_.lists(), lists + 1) << "no reload for keys already in memory";
  EXPECT_EQ(registry_.size(), 2U);
}

TEST_F(ApiKeyRegistryTest, AReaderKeysAppScopeComesWithItsMatch) {
  create("adm", "admin", admin_key_);
  store_.create_api_key("crm-reader", "reader", hash_api_key(reader_key_), {"crm", "shop-*"});
  registry_.load();
  EXPECT_EQ(registry_.check(reader_key_).apps, (std::vector<std::string>{"crm", "shop-*"}));
  EXPECT_EQ(registry_.check_if_loaded(reader_key_)->apps, (std::vector<std::string>{"crm", "shop-*"}));
  EXPECT_TRUE(registry_.check(admin_key_).apps.empty()) << "admin keys are never scoped";
  EXPECT_THROW(store_.create_api_key("adm2", "admin", hash_api_key("mxk_x"), {"crm"}), StoreError);
}

TEST_F(ApiKeyRegistryTest, AnUnknownKeyReloadsAtOnceButAtMostOncePerMissInterval) {
  create("adm", "admin", admin_key_);
  registry_.load();
  create("rdr", "reader", reader_key_);
  EXPECT_FALSE(registry_.check_if_loaded(reader_key_).has_value()) << "check() would reload first";
  EXPECT_EQ(registry_.check(reader_key_).kind, ApiKeyMatch::Kind::ok)
      << "a key created a moment after a load works at once";
  EXPECT_EQ(store_.lists(), 2);

  for (int i = 0; i < 10; ++i)
    EXPECT_EQ(registry_.check("mxk_wrong" + std::to_string(i)).kind, ApiKeyMatch::Kind::unknown);
  EXPECT_EQ(store_.lists(), 2) << "a flood of wrong keys does not reach the store";
  ASSERT_TRUE(registry_.check_if_loaded("mxk_wrong").has_value()) << "no reload due: answered from memory";
  EXPECT_EQ(registry_.check_if_loaded("mxk_wrong")->kind, ApiKeyMatch::Kind::unknown);
  time_.advance(499ms);
  registry_.check("mxk_wrong");
  EXPECT_EQ(store_.lists(), 2);
  time_.advance(1ms);
  registry_.check("mxk_wrong");
  EXPECT_EQ(store_.lists(), 3);

  // The janitor's reload does not use up the misses' allowance: a key created just after it
  // still works at once.
  registry_.refresh();
  EXPECT_EQ(store_.lists(), 4);
  time_.advance(500ms);
  const std::string later = generate_api_key();
  create("rdr2", "reader", later);
  registry_.refresh();  // the janitor again, just before the key is used
  const std::string newest = generate_api_key();
  create("rdr3", "reader", newest);
  EXPECT_EQ(registry_.check(newest).kind, ApiKeyMatch::Kind::ok);
  EXPECT_EQ(store_.lists(), 6);
}

// A reload under way when an unknown key comes may have read the keys before it was created:
// the check waits for it, then reloads for itself.
TEST_F(ApiKeyRegistryTest, AnUnknownKeyWaitsForTheReloadUnderWayThenReloadsItself) {
  create("adm", "admin", admin_key_);
  registry_.load();
  store_.hold_lists(true);
  std::thread janitor([&] { registry_.refresh(); });
  store_.until_list_held();
  create("rdr", "reader", reader_key_);  // after the janitor's read began
  auto checked = std::async(std::launch::async, [&] { return registry_.check(reader_key_).kind; });
  EXPECT_EQ(checked.wait_for(100ms), std::future_status::timeout) << "waits for the reload under way";
  store_.hold_lists(false);
  janitor.join();
  EXPECT_EQ(checked.get(), ApiKeyMatch::Kind::ok);
  EXPECT_EQ(store_.lists(), 3) << "the load, the janitor's, and the check's own";
}

TEST_F(ApiKeyRegistryTest, UsedKeysAreTouchedInOneBatchAtTheNextReload) {
  create("adm", "admin", admin_key_);
  create("rdr", "reader", reader_key_);
  registry_.load();
  for (int i = 0; i < 3; ++i) registry_.check(admin_key_);
  ASSERT_TRUE(registry_.check_if_loaded(reader_key_).has_value());
  EXPECT_TRUE(store_.touches().empty()) << "no write per request";

  time_.advance(2s);
  registry_.refresh();
  auto touches = store_.touches();
  ASSERT_EQ(touches.size(), 1U);
  EXPECT_EQ(touches[0].names, (std::vector<std::string>{"adm", "rdr"}));
  EXPECT_EQ(touches[0].at, time_.system());

  registry_.refresh();
  EXPECT_EQ(store_.touches().size(), 1U) << "nothing used since: nothing written";
}

TEST_F(ApiKeyRegistryTest, RevokedKeysAreNotTouched) {
  create("adm", "admin", admin_key_);
  store_.revoke_api_key("adm", time_.system());
  registry_.load();
  EXPECT_EQ(registry_.check(admin_key_).kind, ApiKeyMatch::Kind::revoked);
  registry_.refresh();
  EXPECT_TRUE(store_.touches().empty());
}

TEST_F(ApiKeyRegistryTest, AFailingStoreKeepsTheKeysLoadedBefore) {
  create("adm", "admin", admin_key_);
  registry_.load();
  store_.set_down(true);
  EXPECT_NO_THROW(registry_.refresh());
  EXPECT_EQ(registry_.check(admin_key_).kind, ApiKeyMatch::Kind::ok);
  time_.advance(1s);
  EXPECT_EQ(registry_.check(reader_key_).kind, ApiKeyMatch::Kind::unknown) << "a failed miss reload answers unknown";
  EXPECT_THROW(registry_.load(), StoreError);

  store_.set_down(false);
  store_.revoke_api_key("adm", time_.system());
  registry_.refresh();
  EXPECT_EQ(registry_.check(admin_key_).kind, ApiKeyMatch::Kind::revoked) << "the next refresh catches up";
  ASSERT_EQ(store_.touches().size(), 1U) << "the use during the outage is written when the store is back";
  EXPECT_EQ(store_.touches()[0].names, (std::vector<std::string>{"adm"}));
}

}  // namespace
}  // namespace mediax
