// The keys that seal stored secrets, from the config ([security] key_file, previous_key_files)
// or from systemd's credentials ($CREDENTIALS_DIRECTORY/mediax.key).
#pragma once

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "crypto/sealer.hpp"

namespace mediax {

class SealKeyError : public std::runtime_error {  // no key, unreadable or malformed key file
 public:
  using std::runtime_error::runtime_error;
};

struct LoadedSealKeys {
  std::shared_ptr<const crypto::Sealer> sealer;  // current key first
  std::vector<std::string> described;            // "k1a2b3c4d (current) from /etc/mediax/mediax.key"; never key bytes
  std::vector<std::string> warnings;             // e.g. a key file readable by group or others
};

// The credential name systemd's LoadCredential= gives the key (systemd/mediaxd.service).
inline constexpr const char* kSealKeyCredential = "mediax.key";

// Loads security.key_file, or when it is empty <credentials_dir>/mediax.key (credentials_dir:
// $CREDENTIALS_DIRECTORY; empty when unset), then every previous key file. With a credentials
// directory, a relative key file path names a credential in it ("mediax-old.key"). Throws SealKeyError
// saying how to create a key when there is none; the message never holds key material.
LoadedSealKeys load_seal_keys(const SecurityConfig& security, const std::string& credentials_dir);
// load_seal_keys with $CREDENTIALS_DIRECTORY from the environment.
LoadedSealKeys load_seal_keys(const SecurityConfig& security);

// How an operator makes a key, for error messages and --help.
std::string seal_key_howto();

}  // namespace mediax
