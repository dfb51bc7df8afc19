// runtime/credentials and store/conninfo: the database password and the TLS key from files or
// systemd credentials, the password added to database.url in its own syntax.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "runtime/credentials.hpp"
#include "store/conninfo.hpp"

namespace mediax {
namespace {

TEST(Conninfo, AddsThePasswordInTheUrlsOwnSyntax) {
  EXPECT_EQ(with_password("postgresql://mediax@db/mediax", "p@ss w'rd"),
            "postgresql://mediax@db/mediax?password=p%40ss%20w%27rd");
  EXPECT_EQ(with_password("postgresql:///mediax?sslmode=require", "x"), "postgresql:///mediax?sslmode=require&password=x");
  EXPECT_EQ(with_password("host=db dbname=mediax", "it's\\x"), "host=db dbname=mediax password='it\\'s\\\\x'");
  EXPECT_EQ(with_password("host=db", ""), "host=db");
}

class Credentials : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("mediax-creds-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& text) {
    const auto path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }
  std::filesystem::path dir_;
};

TEST_F(Credentials, RelativePathsNameSystemdCredentialsAbsoluteOnesAreFiles) {
  write("db-password", "s3cret\n");
  Config c;
  c.database.url = "postgresql:///mediax";
  c.database.password_file = "db-password";
  c.admin.tls_cert_file = "admin-tls.crt";
  c.admin.tls_key_file = "/etc/mediax/admin-tls.key";
  load_credentials(c, dir_.string());
  EXPECT_EQ(c.database.password, "s3cret") << "one line end dropped";
  EXPECT_EQ(c.admin.tls_cert_file, (dir_ / "admin-tls.crt").string());
  EXPECT_EQ(c.admin.tls_key_file, "/etc/mediax/admin-tls.key");
  EXPECT_EQ(database_url(c), "postgresql:///mediax?password=s3cret");

  // Outside systemd (no credentials directory) a path is a path.
  Config plain;
  plain.database.password_file = write("pw", "abc");
  load_credentials(plain, "");
  EXPECT_EQ(plain.database.password, "abc");
}

TEST_F(Credentials, AMissingOrEmptyPasswordFileIsAnErrorThatNamesItNotItsContent) {
  Config c;
  c.database.password_file = "absent";
  try {
    load_credentials(c, dir_.string());
    FAIL() << "a missing password file was accepted";
  } catch (const CredentialError& e) {
    EXPECT_NE(std::string(e.what()).find((dir_ / "absent").string()), std::string::npos) << e.what();
  }
  c.database.password_file = write("empty", "\n");
  EXPECT_THROW(load_credentials(c, ""), CredentialError);
  Config none;
  load_credentials(none, dir_.string());
  EXPECT_EQ(database_url(none), none.database.url) << "no password_file: the URL as given";
}

}  // namespace
}  // namespace mediax
