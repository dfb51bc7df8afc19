// Secrets the configuration names by file, and systemd credentials: under systemd
// (LoadCredential=NAME:/etc/mediax/FILE) a relative path in the config names a credential in
// $CREDENTIALS_DIRECTORY, whatever the unit is called. The encryption key (seal_keys.hpp), the
// database password (database.password_file) and the admin API's TLS key (admin.tls_key_file, and
// its certificate) are found that way, so the files can stay root's and unreadable to the daemon's
// user.
#pragma once

#include <stdexcept>
#include <string>

#include "config/config.hpp"

namespace mediax {

class CredentialError : public std::runtime_error {  // names the file, never its content
 public:
  using std::runtime_error::runtime_error;
};

// path as given when absolute or when there is no credentials directory, else
// credentials_dir/path.
std::string credential_path(const std::string& path, const std::string& credentials_dir);

// Resolves admin.tls_cert_file and admin.tls_key_file against credentials_dir and reads
// database.password_file into config.database.password (one trailing line end dropped; an empty
// file is an error). Throws CredentialError.
void load_credentials(Config& config, const std::string& credentials_dir);
// The same with $CREDENTIALS_DIRECTORY from the environment (empty when unset).
void load_credentials(Config& config);

// database.url with the password of database.password_file (store/conninfo.hpp). Holds the
// password: never log it.
std::string database_url(const Config& config);

}  // namespace mediax
