#include "crypto/sealer.hpp"

#include <openssl/evp.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>

#include "crypto/crypto.hpp"

namespace mediax::crypto {

namespace {

constexpr std::size_t kNonce = 12;
constexpr std::size_t kTag = 16;
constexpr std::string_view kVersion = "v1:";
constexpr std::string_view kVersion2 = "v2:";

struct CtxFree {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using Ctx = std::unique_ptr<EVP_CIPHER_CTX, CtxFree>;

bool valid_id(const std::string& id) {
  if (id.empty() || id.size() > 32) return false;
  for (char c : id) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-') return false;
  }
  return true;
}

const unsigned char* u(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }

}  // namespace

Sealer::Sealer(std::vector<SealKey> keys) : keys_(std::move(keys)) {
  if (keys_.empty()) throw std::invalid_argument("no encryption key");
  std::set<std::string> ids;
  for (const auto& k : keys_) {
    if (!valid_id(k.id)) throw std::invalid_argument("encryption key id '" + k.id + "' must match [A-Za-z0-9_-]{1,32}");
    if (k.bytes.size() != 32) throw std::invalid_argument("encryption key '" + k.id + "' is not 32 bytes");
    if (!ids.insert(k.id).second) throw std::invalid_argument("encryption key id '" + k.id + "' is given twice");
  }
}

namespace {

// nonce | ciphertext | tag of plaintext under key with associated data ad.
std::string encrypt(const SealKey& key, std::string_view plaintext, std::string_view ad) {
  const std::string nonce = random_bytes(kNonce);
  std::string out(nonce);
  out.resize(kNonce + plaintext.size() + kTag);
  Ctx ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  int total = 0;
  auto* dst = reinterpret_cast<unsigned char*>(out.data()) + kNonce;
  if (!ctx || EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(kNonce), nullptr) != 1 ||
      EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, u(key.bytes), u(nonce)) != 1 ||
      EVP_EncryptUpdate(ctx.get(), nullptr, &len, u(ad), static_cast<int>(ad.size())) != 1 ||
      EVP_EncryptUpdate(ctx.get(), dst, &len, u(plaintext), static_cast<int>(plaintext.size())) != 1) {
    throw std::runtime_error("AES-256-GCM encryption failed");
  }
  total = len;
  if (EVP_EncryptFinal_ex(ctx.get(), dst + total, &len) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(kTag), dst + total + len) != 1) {
    throw std::runtime_error("AES-256-GCM encryption failed");
  }
  return out;
}

// The plaintext of base64url(nonce | ciphertext | tag); SealError when it does not open.
std::string decrypt(const SealKey& key, std::string_view encoded, std::string_view ad) {
  const auto raw = base64url_decode(encoded);
  if (!raw || raw->size() < kNonce + kTag) throw SealError("malformed encrypted value");
  const std::string_view all(*raw);
  const auto nonce = all.substr(0, kNonce);
  const auto ct = all.substr(kNonce, all.size() - kNonce - kTag);
  std::string tag(all.substr(all.size() - kTag));
  std::string out(ct.size(), '\0');
  Ctx ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  auto* dst = reinterpret_cast<unsigned char*>(out.data());
  if (!ctx || EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(kNonce), nullptr) != 1 ||
      EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, u(key.bytes), u(nonce)) != 1 ||
      EVP_DecryptUpdate(ctx.get(), nullptr, &len, u(ad), static_cast<int>(ad.size())) != 1 ||
      EVP_DecryptUpdate(ctx.get(), dst, &len, u(ct), static_cast<int>(ct.size())) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(kTag), tag.data()) != 1) {
    secure_wipe(out);
    throw SealError("decryption failed");
  }
  int fin = 0;
  if (EVP_DecryptFinal_ex(ctx.get(), dst + len, &fin) != 1) {
    secure_wipe(out);  // what was decrypted before the tag check failed
    throw SealError("decryption failed: the value was changed, or belongs to another row, or the key is wrong");
  }
  out.resize(static_cast<std::size_t>(len + fin));
  return out;
}

// The associated data of a v2 value: versioned, so a v1 value's ciphertext never opens as v2.
std::string bound_ad(std::string_view ad, std::string_view binding) {
  std::string out = "v2\n";
  out.append(ad);
  out += '\n';
  out.append(binding);
  return out;
}

// "<key id>:<rest>" after the version prefix; SealError when malformed.
std::pair<std::string, std::string_view> split_key_id(std::string_view rest) {
  const auto colon = rest.find(':');
  if (colon == std::string_view::npos) throw SealError("malformed encrypted value");
  return {std::string(rest.substr(0, colon)), rest.substr(colon + 1)};
}

}  // namespace

const SealKey& Sealer::key_named(const std::string& id) const {
  for (const auto& k : keys_) {
    if (k.id == id) return k;
  }
  throw SealError("the value is encrypted with key '" + id + "', which is not loaded");
}

Sealer::~Sealer() {
  for (auto& k : keys_) secure_wipe(k.bytes);
}

std::string Sealer::seal(std::string_view plaintext, std::string_view ad) const {
  const auto& key = keys_.front();
  return std::string(kVersion) + key.id + ":" + base64url_encode(encrypt(key, plaintext, ad));
}

std::string Sealer::open(std::string_view sealed, std::string_view ad) const {
  if (version_of(sealed) == 2) throw SealError("the value is bound to a token endpoint (v2): opened only as such");
  if (!is_sealed(sealed)) throw SealError("the value is not encrypted (no v1: prefix)");
  const auto [id, encoded] = split_key_id(sealed.substr(kVersion.size()));
  return decrypt(key_named(id), encoded, ad);
}

std::string Sealer::seal_bound(std::string_view plaintext, std::string_view ad, std::string_view binding) const {
  const auto& key = keys_.front();
  return std::string(kVersion2) + key.id + ":" + base64url_encode(binding) + ":" +
         base64url_encode(encrypt(key, plaintext, bound_ad(ad, binding)));
}

std::string Sealer::open_bound(std::string_view sealed, std::string_view ad, std::string_view binding) const {
  if (version_of(sealed) != 2) {
    throw SealError(is_sealed(sealed) ? "the value was sealed before secrets were bound to their endpoint (v1)"
                                      : "the value is not encrypted");
  }
  const auto [id, rest] = split_key_id(sealed.substr(kVersion2.size()));
  const auto colon = rest.find(':');
  if (colon == std::string_view::npos) throw SealError("malformed encrypted value");
  const auto named = base64url_decode(rest.substr(0, colon));
  if (!named) throw SealError("malformed encrypted value");
  if (*named != binding) throw BindingMismatch("the value was sealed for another endpoint", *named);
  return decrypt(key_named(id), rest.substr(colon + 1), bound_ad(ad, binding));
}

bool Sealer::has_key(std::string_view id) const {
  for (const auto& k : keys_) {
    if (k.id == id) return true;
  }
  return false;
}

int Sealer::version_of(std::string_view value) {
  if (value.substr(0, kVersion.size()) == kVersion) return 1;
  if (value.substr(0, kVersion2.size()) == kVersion2) return 2;
  return 0;
}

bool Sealer::is_sealed(std::string_view value) { return version_of(value) != 0; }

std::optional<std::string> Sealer::key_id_of(std::string_view sealed) {
  if (!is_sealed(sealed)) return std::nullopt;
  const auto rest = sealed.substr(kVersion.size());  // "v1:" and "v2:" are as long
  const auto colon = rest.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  return std::string(rest.substr(0, colon));
}

std::optional<std::string> Sealer::binding_of(std::string_view sealed) {
  if (version_of(sealed) != 2) return std::nullopt;
  const auto rest = sealed.substr(kVersion2.size());
  const auto a = rest.find(':');
  if (a == std::string_view::npos) return std::nullopt;
  const auto b = rest.find(':', a + 1);
  if (b == std::string_view::npos) return std::nullopt;
  return base64url_decode(rest.substr(a + 1, b - a - 1));
}

SealKey load_seal_key_file(const std::string& path, const std::string& id) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read the encryption key file " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  std::string data = ss.str();
  ss.str(std::string());  // the stream's copy; what it frees is not wiped, the copies below are
  SealKey key;
  key.id = id.empty() ? std::filesystem::path(path).stem().string() : id;
  const auto malformed = [&] {
    secure_wipe(data);
    secure_wipe(key.bytes);
    return std::runtime_error("the encryption key file " + path + " must hold 32 raw bytes or 64 hex characters");
  };
  if (data.size() == 32) {
    key.bytes = data;
  } else {
    const std::string_view t = [&] {
      std::string_view v(data);
      while (!v.empty() && std::isspace(static_cast<unsigned char>(v.back()))) v.remove_suffix(1);
      while (!v.empty() && std::isspace(static_cast<unsigned char>(v.front()))) v.remove_prefix(1);
      return v;
    }();
    if (t.size() != 64) throw malformed();
    key.bytes.reserve(32);
    for (std::size_t i = 0; i < 64; i += 2) {
      auto hex = [&](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
      };
      const int hi = hex(t[i]);
      const int lo = hex(t[i + 1]);
      if (hi < 0 || lo < 0) throw malformed();
      key.bytes.push_back(static_cast<char>(hi * 16 + lo));
    }
  }
  secure_wipe(data);
  return key;
}

std::string key_id_for(std::string_view key_bytes) {
  std::string input = "mediax seal key id\n";
  input.append(key_bytes);
  const std::string id = "k" + to_hex(sha256(input)).substr(0, 8);
  secure_wipe(input);
  return id;
}

SealKey load_seal_key(const std::string& path) {
  SealKey key = load_seal_key_file(path, "file");
  key.id = key_id_for(key.bytes);
  return key;
}

std::string seal_context(std::string_view column, std::string_view row_key) {
  std::string ad(column);
  ad += ':';
  ad.append(row_key);
  return ad;
}

}  // namespace mediax::crypto
