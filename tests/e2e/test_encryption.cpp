// Encryption at rest, end to end: the daemon refuses to start without a key, takes it from
// systemd's $CREDENTIALS_DIRECTORY, and `mediaxd rotate-key` re-seals every secret while a
// daemon keeps refreshing (rotating refresh tokens); a daemon restarted with only the new key
// then reads every grant.
#include <sys/stat.h>

#include <filesystem>

#include <pqxx/pqxx>

#include "crypto/sealer.hpp"
#include "harness.hpp"

namespace mediax::e2e {
namespace {

TEST(StartupKey, DaemonRefusesToStartWithoutAnEncryptionKey) {
  const std::string dir = test::make_temp_dir("mediax-e2e-nokey");
  const std::string db_url = cluster().create_migrated_database(random_hex("e2e_nokey_", 8));
  const std::string config = dir + "/mediaxd.toml";
  write_daemon_config(config, db_url, test::free_port(), "[security]\nkey_file = \"\"\n");
  test::ProcessOptions opts;
  opts.log_dir = dir;
  opts.env = {"CREDENTIALS_DIRECTORY="};  // as outside systemd
  const auto r = test::run_process(mediaxd_bin(), {"--config", config}, opts, 30s);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("no encryption key"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("head -c 32 /dev/urandom > /etc/mediax/mediax.key"), std::string::npos) << r.err;

  // A key file that does not exist is refused the same way, naming the file.
  write_daemon_config(config, db_url, test::free_port(), "[security]\nkey_file = \"" + dir + "/absent.key\"\n");
  const auto r2 = test::run_process(mediaxd_bin(), {"--config", config}, opts, 30s);
  EXPECT_EQ(r2.exit_code, 1) << r2.err;
  EXPECT_NE(r2.err.find(dir + "/absent.key"), std::string::npos) << r2.err;
  if (!::testing::Test::HasFailure()) std::filesystem::remove_all(dir);
}

TEST(StartupKey, DaemonTakesItsKeyFromTheSystemdCredentialsDirectory) {
  const std::string dir = test::make_temp_dir("mediax-e2e-credkey");
  const std::string db_url = cluster().create_migrated_database(random_hex("e2e_credkey_", 8));
  const std::string creds = dir + "/credentials";
  std::filesystem::create_directories(creds);
  const auto key = crypto::load_seal_key(write_seal_key_file(creds + "/mediax.key"));
  const std::string config = dir + "/mediaxd.toml";
  write_daemon_config(config, db_url, test::free_port(), "[security]\nkey_file = \"\"\n");
  test::ProcessOptions opts;
  opts.log_dir = dir;
  opts.env = {"CREDENTIALS_DIRECTORY=" + creds};
  test::Process daemon(mediaxd_bin(), {"--config", config}, opts);
  EXPECT_TRUE(daemon.wait_for_output("listening on", 30s, true)) << daemon.stderr_text();
  EXPECT_TRUE(daemon.running()) << daemon.stderr_text();
  const auto log = daemon.stderr_text();
  EXPECT_NE(log.find("encryption key " + key.id + " (current, systemd credential)"), std::string::npos) << log;
  EXPECT_EQ(daemon.terminate(10s), 0);
  if (!::testing::Test::HasFailure()) std::filesystem::remove_all(dir);
}

class KeyRotationE2E : public E2ETest {
 protected:
  std::string prepare_daemon_config() override {
    k1_ = write_seal_key_file(dir_ + "/k1.key");
    return security(k1_, "");
  }

  static std::string security(const std::string& key_file, const std::string& previous) {
    return "[security]\nkey_file = \"" + key_file + "\"\nprevious_key_files = \"" + previous + "\"\n";
  }

  void restart(const std::string& extra_config) {
    const std::string db = daemon().db_url();
    daemon_->stop();
    logs_ += daemon_->log();
    daemon_.reset();
    daemon_ = std::make_unique<Daemon>(db, dir_, extra_config);
  }

  // Every refresh token column value, as stored.
  std::vector<std::string> stored_refresh_tokens() {
    pqxx::connection c(daemon().db_url());
    pqxx::nontransaction tx(c);
    std::vector<std::string> out;
    for (const auto& r : tx.exec("SELECT refresh_token FROM mediax.grants ORDER BY id"))
      out.push_back(r[0].as<std::string>());
    return out;
  }

  std::string k1_;
  std::string logs_;  // of the daemons stopped during the test
};

TEST_F(KeyRotationE2E, RotateKeyWhileTheDaemonRefreshesThenOnlyTheNewKeyReadsEveryGrant) {
  FakeOAuth2::Flags flags;
  flags.expires_in = 4;         // refreshed every ~2 s
  flags.rotate_refresh = true;  // a lost refresh token would show as invalid_grant
  auto& fake = start_fake(flags);
  register_fake_app(fake, "crm");
  constexpr int kGrants = 4;
  std::vector<std::int64_t> ids;
  for (int i = 0; i < kGrants; ++i) ids.push_back(connect("crm", "user-" + std::to_string(i)));
  const auto id1 = crypto::load_seal_key(k1_).id;
  for (const auto& rt : stored_refresh_tokens()) EXPECT_EQ(rt.rfind("v1:" + id1 + ":", 0), 0U) << rt;

  // Operator: new key as key_file, the old one as previous; restart; rotate.
  const std::string k2 = write_seal_key_file(dir_ + "/k2.key");
  const auto id2 = crypto::load_seal_key(k2).id;
  restart(security(k2, k1_));
  const auto before = fake.stat("refreshes");
  ASSERT_TRUE(eventually([&] { return fake.stat("refreshes") >= before + kGrants; }, 20s)) << fake.stats().dump();

  const auto rotate = daemon().run_cli({"rotate-key"});
  EXPECT_EQ(rotate.exit_code, 0) << rotate.out << rotate.err;
  EXPECT_NE(rotate.out.find("done: every stored secret is sealed with " + id2), std::string::npos) << rotate.out;
  EXPECT_NE(rotate.out.find("grants.refresh_token"), std::string::npos) << rotate.out;
  for (const auto& rt : stored_refresh_tokens()) EXPECT_EQ(rt.rfind("v1:" + id2 + ":", 0), 0U) << rt;

  // The old key goes; the daemon keeps refreshing every grant with the new one alone.
  restart(security(k2, ""));
  const auto after_restart = fake.stat("refreshes");
  EXPECT_TRUE(eventually([&] { return fake.stat("refreshes") >= after_restart + 2 * kGrants; }, 30s))
      << fake.stats().dump();
  for (const auto id : ids) EXPECT_EQ(grant(id).value("status", ""), "active") << grant(id).dump();
  const auto all_logs = logs_ + daemon().log();
  EXPECT_EQ(all_logs.find("cannot decrypt"), std::string::npos);
  EXPECT_EQ(all_logs.find("invalid_grant"), std::string::npos) << "a rotated refresh token was lost";
}

TEST_F(KeyRotationE2E, DaemonRefusesToStartWhenStoredSecretsNeedAKeyItLacks) {
  FakeOAuth2::Flags flags;
  auto& fake = start_fake(flags);
  register_fake_app(fake, "crm");
  connect("crm", "user-0");
  const std::string k2 = write_seal_key_file(dir_ + "/k2.key");
  daemon_->stop();
  logs_ += daemon_->log();
  // Only the new key: the secrets sealed with k1 could not be read. Refused, saying which key.
  const std::string config = dir_ + "/only-k2.toml";
  write_daemon_config(config, daemon().db_url(), test::free_port(), security(k2, ""));
  test::ProcessOptions opts;
  opts.log_dir = dir_;
  opts.name = "only-k2";
  const auto r = test::run_process(mediaxd_bin(), {"--config", config}, opts, 30s);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find(crypto::load_seal_key(k1_).id), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("previous_key_files"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace mediax::e2e
