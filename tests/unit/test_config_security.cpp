// [security]: the encryption key file and the previous key files, and how the daemon loads its
// keys from them or from systemd's $CREDENTIALS_DIRECTORY.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "config/config.hpp"
#include "support/config_error.hpp"
#include "crypto/crypto.hpp"
#include "runtime/seal_keys.hpp"

namespace mediax {
namespace {

std::string error_of(const std::string& text) { return test::config_error_of(text); }

TEST(ConfigSecurity, KeyFilesDefaultToEmptyAndAreRead) {
  const Config d = parse_config("", "d.toml");
  EXPECT_EQ(d.security.key_file, "");
  EXPECT_EQ(d.security.previous_key_files, "");
  EXPECT_TRUE(d.security.previous_key_file_list().empty());

  const Config c = parse_config(
      "[security]\nkey_file = \"/etc/mediax/new.key\"\n"
      "previous_key_files = \" /etc/mediax/old.key, /etc/mediax/older.key ,\"\n",
      "c.toml");
  EXPECT_EQ(c.security.key_file, "/etc/mediax/new.key");
  EXPECT_EQ(c.security.previous_key_file_list(),
            (std::vector<std::string>{"/etc/mediax/old.key", "/etc/mediax/older.key"}));
  EXPECT_EQ(parse_config(render_config(c), "c.toml"), c) << "renders and parses back";
}

TEST(ConfigSecurity, BadKeyFileSettingsNameTheKey) {
  EXPECT_NE(error_of("[security]\nkey_file = 32\n").find("test.toml:2:12: security.key_file: expected a string"),
            std::string::npos)
      << error_of("[security]\nkey_file = 32\n");
  EXPECT_NE(error_of("[security]\nkey_file = \"a.key,b.key\"\n").find("security.key_file: is one file"),
            std::string::npos);
  EXPECT_NE(error_of("[security]\nprevious_key_files = \"a.key, a.key\"\n").find("names the file a.key twice"),
            std::string::npos);
  const auto same = error_of("[security]\nkey_file = \"k.key\"\nprevious_key_files = \"old.key,k.key\"\n");
  EXPECT_NE(same.find("security.previous_key_files: must not name security.key_file"), std::string::npos) << same;
  EXPECT_NE(error_of("[security]\nkey_dir = \"/x\"\n").find("unknown key"), std::string::npos);
}

TEST(ConfigSecurity, KeyFilesNeedARestart) {
  Config a = parse_config("", "a.toml");
  Config b = a;
  b.security.key_file = "/etc/mediax/new.key";
  b.security.previous_key_files = "/etc/mediax/mediax.key";
  const auto changed = non_reloadable_changes(a, b);
  EXPECT_EQ(changed, (std::vector<std::string>{"security.key_file", "security.previous_key_files"}));
}

class SealKeys : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "/mediax-seal-keys-" + std::to_string(::getpid());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string key_file(const std::string& name, char fill, int mode = 0600) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path, std::ios::binary) << std::string(32, fill);
    ::chmod(path.c_str(), static_cast<mode_t>(mode));
    return path;
  }

  std::string dir_;
};

TEST_F(SealKeys, NoKeyIsRefusedWithHowToMakeOne) {
  SecurityConfig s;
  try {
    load_seal_keys(s, "");
    FAIL() << "loaded without a key";
  } catch (const SealKeyError& e) {
    EXPECT_NE(std::string(e.what()).find("head -c 32 /dev/urandom"), std::string::npos) << e.what();
  }
  EXPECT_THROW(load_seal_keys(s, dir_ + "/empty-credentials"), SealKeyError);
  s.key_file = dir_ + "/missing.key";
  EXPECT_THROW(load_seal_keys(s, ""), SealKeyError);
}

TEST_F(SealKeys, TheCurrentKeySealsAndPreviousKeysStillOpen) {
  SecurityConfig old_cfg;
  old_cfg.key_file = key_file("old.key", 'o');
  const auto old_keys = load_seal_keys(old_cfg, "");
  const auto sealed = old_keys.sealer->seal("secret", "grants.refresh_token:1");
  EXPECT_TRUE(old_keys.warnings.empty());

  SecurityConfig both;
  both.key_file = key_file("new.key", 'n');
  both.previous_key_files = old_cfg.key_file;
  const auto keys = load_seal_keys(both, "");
  EXPECT_EQ(keys.sealer->current_key_id(), crypto::key_id_for(std::string(32, 'n')));
  EXPECT_EQ(keys.sealer->open(sealed, "grants.refresh_token:1"), "secret");
  EXPECT_EQ(crypto::Sealer::key_id_of(keys.sealer->seal("x", "ad")), keys.sealer->current_key_id());
  ASSERT_EQ(keys.described.size(), 2U);
  EXPECT_NE(keys.described[0].find("current"), std::string::npos);
  EXPECT_NE(keys.described[1].find("previous"), std::string::npos);
}

TEST_F(SealKeys, TheSystemdCredentialIsUsedWhenNoKeyFileIsSet) {
  key_file("mediax.key", 'c');
  SecurityConfig s;
  const auto keys = load_seal_keys(s, dir_);
  EXPECT_EQ(keys.sealer->current_key_id(), crypto::key_id_for(std::string(32, 'c')));
  EXPECT_NE(keys.described[0].find("systemd credential"), std::string::npos) << keys.described[0];
  // Relative paths name credentials too: how rotation works under systemd.
  key_file("mediax-old.key", 'p');
  s.previous_key_files = "mediax-old.key";
  const auto with_old = load_seal_keys(s, dir_);
  const std::string old_bytes(32, 'p');
  const auto sealed_old = crypto::Sealer({crypto::SealKey{crypto::key_id_for(old_bytes), old_bytes}}).seal("x", "ad");
  EXPECT_EQ(with_old.sealer->open(sealed_old, "ad"), "x");
  s.previous_key_files.clear();
  // A key file in the config wins over the credential.
  s.key_file = key_file("configured.key", 'f');
  EXPECT_EQ(load_seal_keys(s, dir_).sealer->current_key_id(), crypto::key_id_for(std::string(32, 'f')));
}

TEST_F(SealKeys, AKeyFileOthersCanReadIsWarnedAboutWithoutItsContent) {
  SecurityConfig s;
  s.key_file = key_file("open.key", 'w', 0644);
  const auto keys = load_seal_keys(s, "");
  ASSERT_EQ(keys.warnings.size(), 1U);
  EXPECT_NE(keys.warnings[0].find("mode 644"), std::string::npos) << keys.warnings[0];
  EXPECT_NE(keys.warnings[0].find("chmod 600"), std::string::npos) << keys.warnings[0];
  EXPECT_EQ(keys.warnings[0].find("wwww"), std::string::npos);
}

TEST_F(SealKeys, KeyIdsComeFromTheKeyNotTheFileName) {
  SecurityConfig a, b;
  a.key_file = key_file("one.key", 's');
  b.key_file = key_file("two.key", 's');
  EXPECT_EQ(load_seal_keys(a, "").sealer->current_key_id(), load_seal_keys(b, "").sealer->current_key_id());
  const auto id = crypto::key_id_for(std::string(32, 's'));
  EXPECT_EQ(id.size(), 9U);
  EXPECT_EQ(id[0], 'k');
  EXPECT_NE(id, crypto::key_id_for(std::string(32, 't')));
  EXPECT_EQ(crypto::seal_context("grants.refresh_token", "42"), "grants.refresh_token:42");
}

}  // namespace
}  // namespace mediax
