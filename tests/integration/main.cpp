// Integration tests: one throwaway PostgreSQL cluster for the whole run (the ctest fixture's, shared
// by every test process, or one of this process when run by hand); each test gets its own freshly
// migrated database on it.
#include <unistd.h>

#include <atomic>

#include <gtest/gtest.h>

#include "pg_env.hpp"

namespace mediax::test {

namespace {

PgCluster* g_cluster = nullptr;
std::atomic<int> g_db_counter{0};

class PgEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    try {
      cluster_ = shared_cluster();
      g_cluster = cluster_.get();
    } catch (const std::exception& e) {
      FAIL() << "cannot start the test PostgreSQL cluster: " << e.what();
    }
  }
  void TearDown() override {
    g_cluster = nullptr;
    cluster_.reset();
  }

 private:
  std::unique_ptr<PgCluster> cluster_;
};

}  // namespace

PgCluster& cluster() {
  if (g_cluster == nullptr) throw std::runtime_error("the test PostgreSQL cluster is not running");
  return *g_cluster;
}

crypto::SealKey test_seal_key(char fill) {
  const std::string bytes(32, fill);
  return crypto::SealKey{crypto::key_id_for(bytes), bytes};
}

std::shared_ptr<const crypto::Sealer> test_sealer() {
  static const auto sealer = std::make_shared<const crypto::Sealer>(std::vector<crypto::SealKey>{test_seal_key('T')});
  return sealer;
}

// The pid keeps names apart between test processes on the shared cluster.
std::string unique_db_name(const std::string& prefix) {
  return prefix + "_" + std::to_string(::getpid()) + "_" + std::to_string(++g_db_counter);
}

App sample_app(const std::string& name, bool client_credentials) {
  App a;
  a.name = name;
  a.platform = "oauth2";
  a.client_id = "client-" + name;
  a.client_secret = "secret-of-" + name;
  a.scopes = {"read", "write"};
  a.client_credentials = client_credentials;
  a.issuer = "https://idp.example";
  a.endpoints.authorize_url = "https://idp.example/authorize";
  a.endpoints.token_url = "https://idp.example/token";
  a.token_auth_method = "client_secret_basic";
  a.redirect_uri = "http://127.0.0.1:8080/oauth/callback";
  a.options = {{"audience", "api"}, {"retries", 3}};
  return a;
}

Grant sample_grant(std::int64_t app_id, const std::string& account_id, const std::string& refresh_token) {
  Grant g;
  g.app_id = app_id;
  g.account_id = account_id;
  g.scopes = {"read"};
  g.refresh_token = refresh_token;
  g.refresh_expires_at = t0() + std::chrono::hours(24 * 30);
  g.next_refresh_at = t0() + std::chrono::minutes(50);
  g.extra = {{"unionid", "u-" + account_id}};
  return g;
}

Token sample_token(const std::string& access_token, TimePoint expires_at) {
  Token t;
  t.access_token = access_token;
  t.token_type = "Bearer";
  t.scopes = {"read"};
  t.expires_at = expires_at;
  t.refreshed_at = expires_at - std::chrono::hours(1);
  return t;
}

void StoreTest::SetUp() {
  url_ = cluster().create_migrated_database(unique_db_name("store"));
  store_ = make_pg_store(url_, 8, test_sealer());
}

}  // namespace mediax::test

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new mediax::test::PgEnvironment);
  return RUN_ALL_TESTS();
}
