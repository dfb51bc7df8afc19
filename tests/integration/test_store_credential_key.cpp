// One credential, one token (migrations/0009): apps.credential_key is unique among the apps that
// fetch an app token, whichever connection or instance registers them; token_usage is stored.
#include <barrier>
#include <thread>

#include <gtest/gtest.h>

#include "pg_env.hpp"

namespace mediax::test {
namespace {

using StoreCredentialKey = StoreTest;

App keyed_app(const std::string& name, const std::string& key) {
  App a = sample_app(name, true);
  a.platform = "douyin";
  a.credential_key = key;
  a.token_usage = TokenUsage::access_token_header;
  return a;
}

TEST_F(StoreCredentialKey, SecondAppWithTheKeyIsRefusedNamingTheFirst) {
  const App first = store_->create_app(keyed_app("first", "douyin - aw1"));
  EXPECT_EQ(store_->get_app("first")->credential_key, "douyin - aw1");
  try {
    store_->create_app(keyed_app("second", "douyin - aw1"));
    FAIL() << "a second app with the credential was stored";
  } catch (const CredentialInUseError& e) {
    EXPECT_EQ(e.holder, "first");
  }
  EXPECT_FALSE(store_->get_app("second"));
  // The name is still checked first-come as before, and told apart from the credential.
  EXPECT_THROW(
      {
        try {
          store_->create_app(keyed_app("first", "douyin - aw2"));
        } catch (const CredentialInUseError&) {
          ADD_FAILURE() << "a taken name reported as a taken credential";
          throw;
        }
      },
      DuplicateError);
  // Once the holder is gone the credential is free again.
  ASSERT_TRUE(store_->delete_app(first.name));
  EXPECT_NO_THROW(store_->create_app(keyed_app("second", "douyin - aw1")));
}

TEST_F(StoreCredentialKey, AppsWithoutAnAppTokenMayShareAClientId) {
  for (const char* name : {"grants-a", "grants-b", "grants-c"}) {
    App a = keyed_app(name, "");
    a.client_id = "aw-shared";
    a.client_credentials = false;
    EXPECT_NO_THROW(store_->create_app(a)) << name;
  }
  EXPECT_NO_THROW(store_->create_app(keyed_app("fetcher", "douyin - aw-shared")));
  EXPECT_EQ(store_->get_app("grants-a")->credential_key, "");
}

TEST_F(StoreCredentialKey, ConcurrentRegistrationsLetExactlyOneThrough) {
  // Two registrations racing on separate connections (as two instances would): the unique index
  // decides, not a check before the insert. Many rounds, so the inserts really overlap.
  for (int round = 0; round < 25; ++round) {
    const std::string key = "wechat - wx" + std::to_string(round);
    std::barrier start(2);
    std::string holder[2];
    bool stored[2] = {false, false};
    auto run = [&](int i) {
      start.arrive_and_wait();
      try {
        store_->create_app(keyed_app("r" + std::to_string(round) + "-" + std::to_string(i), key));
        stored[i] = true;
      } catch (const CredentialInUseError& e) {
        holder[i] = e.holder;
      }
    };
    std::thread a(run, 0), b(run, 1);
    a.join();
    b.join();
    ASSERT_NE(stored[0], stored[1]) << "round " << round << ": exactly one must be stored";
    const int loser = stored[0] ? 1 : 0;
    EXPECT_EQ(holder[loser], "r" + std::to_string(round) + "-" + std::to_string(1 - loser)) << "round " << round;
  }
}

TEST_F(StoreCredentialKey, TokenUsageIsStoredPerApp) {
  App wx = keyed_app("wx", "wechat - wx1");
  wx.platform = "wechat";
  wx.token_usage = TokenUsage::access_token_query;
  store_->create_app(wx);
  store_->create_app(keyed_app("dy", "douyin - aw1"));
  store_->create_app(sample_app("plain"));
  EXPECT_EQ(store_->get_app("wx")->token_usage, TokenUsage::access_token_query);
  EXPECT_EQ(store_->get_app("dy")->token_usage, TokenUsage::access_token_header);
  EXPECT_EQ(store_->get_app("plain")->token_usage, TokenUsage::authorization_bearer);
  for (const auto& a : store_->list_apps()) EXPECT_EQ(a.token_usage, store_->get_app(a.name)->token_usage) << a.name;
}

}  // namespace
}  // namespace mediax::test
