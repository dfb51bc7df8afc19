#include "crypto/crypto.hpp"

#include <array>
#include <cstdint>
#include <limits>
#include <stdexcept>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

namespace mediax::crypto {

namespace {

constexpr char kBase64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr char kBase64Url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string encode(std::string_view in, const char* alphabet, bool pad) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    std::uint32_t v = (static_cast<std::uint8_t>(in[i]) << 16) | (static_cast<std::uint8_t>(in[i + 1]) << 8) |
                      static_cast<std::uint8_t>(in[i + 2]);
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
    out += alphabet[v & 63];
  }
  std::size_t rest = in.size() - i;
  if (rest == 1) {
    std::uint32_t v = static_cast<std::uint8_t>(in[i]) << 16;
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    if (pad) out += "==";
  } else if (rest == 2) {
    std::uint32_t v = (static_cast<std::uint8_t>(in[i]) << 16) | (static_cast<std::uint8_t>(in[i + 1]) << 8);
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
    if (pad) out += '=';
  }
  return out;
}

// The 6-bit value of c in `alphabet` (kBase64 or kBase64Url); -1 when c is not one of its characters.
int value_in(std::string_view alphabet, char c) {
  const auto at = alphabet.find(c);
  return at == std::string_view::npos ? -1 : static_cast<int>(at);
}

// Decodes unpadded text in `alphabet`; nullopt on a character outside it. Leftover bits are dropped.
std::optional<std::string> decode(std::string_view text, std::string_view alphabet) {
  std::string out;
  out.reserve(text.size() * 3 / 4);
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    int v = value_in(alphabet, c);
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xFF);
    }
  }
  return out;
}

}  // namespace

void secure_wipe(std::string& s) {
  if (!s.empty()) OPENSSL_cleanse(s.data(), s.size());
  s.clear();
}

std::string random_bytes(std::size_t n) {
  std::string out(n, '\0');
  if (n == 0) return out;
  if (n > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
    throw std::runtime_error("random_bytes: request too large");
  }
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
    throw std::runtime_error("random_bytes: the OpenSSL random generator failed");
  }
  return out;
}

std::string random_token(std::size_t bytes) { return base64url_encode(random_bytes(bytes)); }

std::string base64url_encode(std::string_view bytes) { return encode(bytes, kBase64Url, false); }

std::string base64_encode(std::string_view bytes) { return encode(bytes, kBase64, true); }

std::optional<std::string> base64url_decode(std::string_view text) {
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  // A single leftover character carries only 6 bits: never a valid encoding.
  if (text.size() % 4 == 1) return std::nullopt;
  return decode(text, std::string_view(kBase64Url, 64));
}

std::optional<std::string> base64_decode(std::string_view text) {
  if (text.empty() || text.size() % 4 != 0) return std::nullopt;
  std::size_t pad = 0;
  if (text.back() == '=') ++pad;
  if (text.size() >= 2 && text[text.size() - 2] == '=') ++pad;
  return decode(text.substr(0, text.size() - pad), std::string_view(kBase64, 64));
}

namespace {

// Given EVP_sha256(), OpenSSL 3 looks the digest up in its providers on every EVP_Digest (a locked
// fetch: half the cost of hashing an API key, on every token read); fetched once, it does not.
const EVP_MD* sha256_digest() {
  static const EVP_MD* const md = [] {
    const EVP_MD* fetched = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    return fetched != nullptr ? fetched : EVP_sha256();
  }();
  return md;
}

}  // namespace

std::string sha256(std::string_view bytes) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), md.data(), &len, sha256_digest(), nullptr) != 1) {
    throw std::runtime_error("sha256: OpenSSL digest failed");
  }
  return std::string(reinterpret_cast<const char*>(md.data()), len);
}

std::string hmac_sha256(std::string_view key, std::string_view msg) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  if (key.size() > static_cast<std::size_t>(std::numeric_limits<int>::max()) ||
      HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(msg.data()),
           msg.size(), md.data(), &len) == nullptr) {
    throw std::runtime_error("hmac_sha256: OpenSSL HMAC failed");
  }
  return std::string(reinterpret_cast<const char*>(md.data()), len);
}

std::string to_hex(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes) {
    auto b = static_cast<std::uint8_t>(c);
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

// 48 random bytes in base64url are exactly 64 characters, all from the RFC 7636 verifier alphabet.
std::string pkce_verifier() { return base64url_encode(random_bytes(48)); }

std::string pkce_challenge_s256(std::string_view verifier) { return base64url_encode(sha256(verifier)); }

bool constant_time_equals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace mediax::crypto
