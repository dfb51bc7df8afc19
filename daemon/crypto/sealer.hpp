// Encryption at rest: AES-256-GCM (OpenSSL EVP) of secrets stored in the database.
//
// A sealed value is "v1:<key id>:<base64url(nonce | ciphertext | tag)>" with a fresh 96-bit
// random nonce per value and a 128-bit tag. The associated data is the row's identity
// ("apps.client_secret:<app id>", see seal_context), so a ciphertext copied into another row or column
// does not open. Several keys may be loaded (rotation): the first is current and seals; any
// loaded key opens what it sealed.
//
// A value bound to where it may be sent (an app's secrets and its token endpoint) is
// "v2:<key id>:<base64url(binding)>:<base64url(nonce | ciphertext | tag)>": the associated data is
// "v2\n<row identity>\n<binding>", so it opens only while the binding computed from the row is the
// one it was sealed with. The binding is stored in clear as well (it names hosts, nothing secret)
// so that a refusal can say what changed; editing it in the value only makes the value not open.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace mediax::crypto {

class SealError : public std::runtime_error {  // tampered, wrong key or AD, unknown key id, bad format
 public:
  using std::runtime_error::runtime_error;
};

// open_bound: the value was sealed for another binding than the one asked for (nothing was
// decrypted). sealed_for() is the binding the value names.
class BindingMismatch : public SealError {
 public:
  BindingMismatch(const std::string& what, std::string sealed_for)
      : SealError(what), sealed_for_(std::move(sealed_for)) {}
  const std::string& sealed_for() const { return sealed_for_; }

 private:
  std::string sealed_for_;
};

struct SealKey {
  std::string id;     // [A-Za-z0-9_-]{1,32}, stored beside each value
  std::string bytes;  // 32 raw bytes
};

class Sealer {
 public:
  // keys.front() is current. Throws std::invalid_argument on a bad id, a key not 32 bytes,
  // duplicate ids or no key at all.
  explicit Sealer(std::vector<SealKey> keys);
  ~Sealer();  // wipes the key bytes
  Sealer(const Sealer&) = delete;
  Sealer& operator=(const Sealer&) = delete;

  std::string seal(std::string_view plaintext, std::string_view associated_data) const;
  // Throws SealError (never says anything about the plaintext).
  std::string open(std::string_view sealed, std::string_view associated_data) const;

  // v2, bound: see the top of this file. open_bound throws BindingMismatch when the value names
  // another binding, SealError otherwise (a v1 value included: it is bound to nothing).
  std::string seal_bound(std::string_view plaintext, std::string_view associated_data, std::string_view binding) const;
  std::string open_bound(std::string_view sealed, std::string_view associated_data, std::string_view binding) const;

  // Whether a key with this id is loaded.
  bool has_key(std::string_view id) const;
  static bool is_sealed(std::string_view value);  // starts with "v1:" or "v2:"
  // 0: not sealed (plain text or empty), 1 or 2.
  static int version_of(std::string_view value);
  // The binding a v2 value names; nullopt for anything else.
  static std::optional<std::string> binding_of(std::string_view sealed);
  // The key id of a sealed value; nullopt when not sealed.
  static std::optional<std::string> key_id_of(std::string_view sealed);
  const std::string& current_key_id() const { return keys_.front().id; }

 private:
  const SealKey& key_named(const std::string& id) const;  // throws SealError when not loaded
  std::vector<SealKey> keys_;
};

// A key file holds 32 raw bytes or 64 hex characters (surrounding whitespace ignored).
// The id is the file name without directory and extension unless given. Throws
// std::runtime_error naming the file (never its content) when unreadable or malformed.
SealKey load_seal_key_file(const std::string& path, const std::string& id = "");

// The id a key gets from its content: "k" and 8 hex characters of a SHA-256 of the key. The
// same key in two files (or as a systemd credential) has one id; two keys practically never
// share one. Reveals nothing usable about the key.
std::string key_id_for(std::string_view key_bytes);
// A key file with the id from its content (key_id_for).
SealKey load_seal_key(const std::string& path);

// The associated data of a column of a row: seal_context("grants.refresh_token", "42") is
// "grants.refresh_token:42". Tools that write sealed values (bench/) use it with Sealer::seal.
std::string seal_context(std::string_view column, std::string_view row_key);

}  // namespace mediax::crypto
