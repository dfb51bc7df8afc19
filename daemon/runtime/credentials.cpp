#include "runtime/credentials.hpp"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "store/conninfo.hpp"
#include "util/strings.hpp"

namespace mediax {

std::string credential_path(const std::string& path, const std::string& credentials_dir) {
  if (path.empty() || path.front() == '/' || credentials_dir.empty()) return path;
  return credentials_dir + "/" + path;
}

namespace {

std::string read_password(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw CredentialError("cannot read database.password_file " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  std::string password = ss.str();
  ss.str(std::string());
  if (!password.empty() && password.back() == '\n') password.pop_back();
  if (!password.empty() && password.back() == '\r') password.pop_back();
  if (password.empty()) throw CredentialError("database.password_file " + path + " is empty");
  return password;
}

}  // namespace

void load_credentials(Config& config, const std::string& credentials_dir) {
  config.admin.tls_cert_file = credential_path(config.admin.tls_cert_file, credentials_dir);
  config.admin.tls_key_file = credential_path(config.admin.tls_key_file, credentials_dir);
  util::secure_wipe(config.database.password);
  if (!config.database.password_file.empty()) {
    config.database.password = read_password(credential_path(config.database.password_file, credentials_dir));
  }
}

void load_credentials(Config& config) {
  const char* dir = std::getenv("CREDENTIALS_DIRECTORY");
  load_credentials(config, dir ? std::string(dir) : std::string());
}

std::string database_url(const Config& config) {
  return with_password(config.database.url, config.database.password);
}

}  // namespace mediax
