#include "runtime/seal_keys.hpp"

#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <set>

#include "runtime/credentials.hpp"

namespace mediax {

namespace {

// A key readable by anyone but its owner is worth a warning, not a refusal: systemd copies
// credentials with its own modes, and a dev box may not care.
void check_mode(const std::string& path, std::vector<std::string>& warnings) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return;
  if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%03o", static_cast<unsigned>(st.st_mode & 0777));
    warnings.push_back("the encryption key file " + path + " has mode " + mode +
                       ": it should be readable by its owner only (chmod 600 " + path + ")");
  }
}

crypto::SealKey load_one(const std::string& path, std::vector<std::string>& warnings) {
  try {
    auto key = crypto::load_seal_key(path);
    check_mode(path, warnings);
    return key;
  } catch (const std::exception& e) {
    throw SealKeyError(e.what());
  }
}

// Under systemd a relative path names a credential: the unit's LoadCredential=NAME:/etc/... and
// the config's "NAME" meet in $CREDENTIALS_DIRECTORY, whatever the unit is called.
std::string resolve(const std::string& path, const std::string& credentials_dir) {
  return credential_path(path, credentials_dir);
}

}  // namespace

std::string seal_key_howto() {
  return "create one with: install -d -m 700 /etc/mediax && (umask 077 && head -c 32 /dev/urandom > "
         "/etc/mediax/mediax.key) && chmod 600 /etc/mediax/mediax.key — then set [security] key_file = "
         "\"/etc/mediax/mediax.key\", or let systemd pass it (LoadCredential=mediax.key:/etc/mediax/mediax.key). "
         "Keep a copy somewhere safe: without it the stored secrets cannot be read (backups need it too)";
}

LoadedSealKeys load_seal_keys(const SecurityConfig& security, const std::string& credentials_dir) {
  LoadedSealKeys out;
  std::string current_path = resolve(security.key_file, credentials_dir);
  std::string source = "security.key_file";
  if (current_path.empty()) {
    if (credentials_dir.empty()) {
      throw SealKeyError(
          "no encryption key for stored secrets: security.key_file is not set and there is no "
          "systemd credential ($CREDENTIALS_DIRECTORY is unset); " +
          seal_key_howto());
    }
    current_path = credentials_dir + "/" + kSealKeyCredential;
    source = "systemd credential";
    struct stat st {};
    if (::stat(current_path.c_str(), &st) != 0) {
      throw SealKeyError(
          "no encryption key for stored secrets: security.key_file is not set and the systemd "
          "credential " +
          current_path + " does not exist; " + seal_key_howto());
    }
  }
  std::vector<crypto::SealKey> keys;
  keys.push_back(load_one(current_path, out.warnings));
  out.described.push_back(keys.back().id + " (current, " + source + ") from " + current_path);
  std::set<std::string> ids{keys.back().id};
  for (const auto& given : security.previous_key_file_list()) {
    const std::string path = resolve(given, credentials_dir);
    auto key = load_one(path, out.warnings);
    if (!ids.insert(key.id).second) {
      out.warnings.push_back("the previous key file " + path + " holds a key already loaded (" + key.id + ")");
      continue;
    }
    out.described.push_back(key.id + " (previous) from " + path);
    keys.push_back(std::move(key));
  }
  try {
    out.sealer = std::make_shared<const crypto::Sealer>(std::move(keys));
  } catch (const std::exception& e) {
    throw SealKeyError(e.what());
  }
  return out;
}

LoadedSealKeys load_seal_keys(const SecurityConfig& security) {
  const char* dir = std::getenv("CREDENTIALS_DIRECTORY");
  return load_seal_keys(security, dir ? std::string(dir) : std::string());
}

}  // namespace mediax
