// migrations/0009 on a database written by an older mediaxd: apps that already share a credential
// (nothing stopped them before) must not make the migration fail; keys, token usages and
// token types are backfilled as the daemon computes them.
#include <unistd.h>

#include <cctype>
#include <filesystem>

#include <gtest/gtest.h>
#include <pqxx/pqxx>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include "pg_env.hpp"
#include "platforms/credential_key.hpp"

namespace mediax::test {
namespace {

namespace fs = std::filesystem;

constexpr long kMigration = 9;

long number_of(const fs::path& p) { return std::stol(p.filename().string().substr(0, 4)); }

// A copy of migrations/ with the files before (or from) number `from`.
class MigrationsCopy {
 public:
  MigrationsCopy() : dir_(fs::temp_directory_path() / ("mediax-mig0009-" + std::to_string(::getpid()))) {
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  ~MigrationsCopy() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  void add_before(long n) const {
    copy([n](long m) { return m < n; });
  }
  void add_rest(long n) const {
    copy([n](long m) { return m >= n; });
  }
  std::string dir() const { return dir_.string(); }

 private:
  template <typename Pred>
  void copy(Pred take) const {
    for (const auto& e : fs::directory_iterator(migrations_dir())) {
      const auto name = e.path().filename().string();
      if (e.path().extension() != ".sql" || name.size() < 5 || !std::isdigit(static_cast<unsigned char>(name[0])))
        continue;
      if (take(number_of(e.path()))) fs::copy_file(e.path(), dir_ / name, fs::copy_options::overwrite_existing);
    }
  }
  fs::path dir_;
};

TEST(Migration0009, DatabaseWithAppsSharingACredentialMigratesAndNamesThem) {
  const auto url = cluster().create_database(unique_db_name("mig9"));
  MigrationsCopy dir;
  dir.add_before(kMigration);
  Migrator(url, dir.dir()).apply();

  pqxx::connection c(url);
  {
    pqxx::work tx(c);
    // As an older daemon stored them (ids in this order): three apps on one Douyin credential, two
    // on one WeChat credential, a grants-only app on the first Douyin client key, OAuth 2.0 apps
    // whose endpoints differ only in spelling, a Google service account per impersonated user.
    tx.exec(R"(INSERT INTO mediax.apps (name, platform, client_id, client_credentials, token_url, options) VALUES
      ('dy-first', 'douyin', 'aw1', true, '', '{}'),
      ('dy-second', 'douyin', 'aw1', true, '', '{}'),
      ('dy-grants', 'douyin', 'aw1', false, '', '{}'),
      ('wx-first', 'wechat', 'wx1', true, '', '{"app_token":"token"}'),
      ('wx-second', 'wechat', 'wx1', true, '', '{}'),
      ('dy-third', 'douyin', 'aw1', true, '', '{}'),
      ('idp-a', 'oauth2', 'svc', true, 'https://IdP.example/token/', '{}'),
      ('idp-b', 'oauth2', 'svc', true, 'https://idp.example/token', '{}'),
      ('idp-other', 'oauth2', 'svc', true, 'https://idp.example/other', '{}'),
      ('gsa', 'google', 'sa@p.iam.gserviceaccount.com', true, '', '{"subject":"admin@example.com"}'),
      ('gsa-self', 'google', 'sa@p.iam.gserviceaccount.com', true, '', '{}'))");
    tx.exec(R"(INSERT INTO mediax.tokens (app_id, access_token, token_type, expires_at)
               SELECT id, 'tok-' || name, 'Bearer', now() + interval '1 hour' FROM mediax.apps
                WHERE name IN ('dy-first', 'wx-first', 'idp-a'))");
    tx.commit();
  }

  dir.add_rest(kMigration);
  auto log = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(100);
  spdlog::default_logger()->sinks().push_back(log);
  EXPECT_NO_THROW(Migrator(url, dir.dir()).apply());
  spdlog::default_logger()->sinks().pop_back();
  std::string logged;
  for (const auto& line : log->last_formatted()) logged += line;
  EXPECT_NE(logged.find(R"(app "dy-third" fetches its app token with the credential of app "dy-first")"),
            std::string::npos)
      << "the admin is told on `mediaxd migrate`: " << logged;

  pqxx::nontransaction tx(c);
  auto key_of = [&](const std::string& name) {
    const auto r = tx.exec_params1("SELECT credential_key FROM mediax.apps WHERE name = $1", name);
    return r[0].is_null() ? std::string("NULL") : r[0].as<std::string>();
  };
  // The first registered keeps the key, the later ones lose it; grants-only apps have none.
  EXPECT_EQ(key_of("dy-first"), "douyin - aw1");
  EXPECT_EQ(key_of("dy-second"), "NULL");
  EXPECT_EQ(key_of("dy-third"), "NULL");
  EXPECT_EQ(key_of("dy-grants"), "NULL");
  EXPECT_EQ(key_of("wx-first"), "wechat - wx1");
  EXPECT_EQ(key_of("wx-second"), "NULL");
  EXPECT_EQ(key_of("idp-a"), "oauth2 https://idp.example/token svc");
  EXPECT_EQ(key_of("idp-b"), "NULL") << "the same endpoint spelled differently is the same credential";
  EXPECT_EQ(key_of("idp-other"), "oauth2 https://idp.example/other svc");
  EXPECT_EQ(key_of("gsa"), "google sub=admin@example.com sa@p.iam.gserviceaccount.com");
  EXPECT_EQ(key_of("gsa-self"), "google - sa@p.iam.gserviceaccount.com");

  // The SQL backfill and the daemon's rule give the same text (or a new duplicate would slip by).
  auto store = make_pg_store(url, 2, test_sealer());
  for (const char* name : {"dy-first", "wx-first", "idp-a", "idp-other", "gsa", "gsa-self"}) {
    const auto app = store->get_app(name);
    ASSERT_TRUE(app) << name;
    EXPECT_EQ(app->credential_key, credential_key(*app, PlatformSettings{})) << name;
  }

  // The later ones are named for the admin, with the app that holds the credential.
  const auto events = tx.exec(
      "SELECT a.name, e.detail->>'holder' FROM mediax.events e JOIN mediax.apps a ON a.id = e.app_id"
      " WHERE e.kind = 'credential_in_use' ORDER BY a.id");
  std::vector<std::pair<std::string, std::string>> named;
  for (const auto& r : events) named.emplace_back(r[0].as<std::string>(), r[1].as<std::string>());
  EXPECT_EQ(named,
            (std::vector<std::pair<std::string, std::string>>{
                {"dy-second", "dy-first"}, {"wx-second", "wx-first"}, {"dy-third", "dy-first"}, {"idp-b", "idp-a"}}));

  // From now on the index refuses another fetcher of a held credential.
  App again = sample_app("dy-fourth", true);
  again.platform = "douyin";
  again.client_id = "aw1";
  again.credential_key = "douyin - aw1";
  try {
    store->create_app(again);
    ADD_FAILURE() << "a fourth fetcher of the credential was stored";
  } catch (const CredentialInUseError& e) {
    EXPECT_EQ(e.holder, "dy-first");
  }

  // How each platform's tokens are sent, and no 'Bearer' Douyin or WeChat never said.
  EXPECT_EQ(store->get_app("dy-grants")->token_usage, TokenUsage::access_token_header);
  EXPECT_EQ(store->get_app("wx-second")->token_usage, TokenUsage::access_token_query);
  EXPECT_EQ(store->get_app("idp-a")->token_usage, TokenUsage::authorization_bearer);
  EXPECT_EQ(store->get_app("gsa")->token_usage, TokenUsage::authorization_bearer);
  const auto types = tx.exec("SELECT app_name, token_type, token_usage FROM mediax.access_tokens ORDER BY app_name");
  ASSERT_EQ(types.size(), 3U);
  EXPECT_EQ(types[0][0].as<std::string>(), "dy-first");
  EXPECT_EQ(types[0][1].as<std::string>(), "");
  EXPECT_EQ(types[0][2].as<std::string>(), "header:access-token");
  EXPECT_EQ(types[1][0].as<std::string>(), "idp-a");
  EXPECT_EQ(types[1][1].as<std::string>(), "Bearer");
  EXPECT_EQ(types[1][2].as<std::string>(), "header:Authorization:Bearer");
  EXPECT_EQ(types[2][0].as<std::string>(), "wx-first");
  EXPECT_EQ(types[2][1].as<std::string>(), "");
  EXPECT_EQ(types[2][2].as<std::string>(), "query:access_token");
}

}  // namespace
}  // namespace mediax::test
