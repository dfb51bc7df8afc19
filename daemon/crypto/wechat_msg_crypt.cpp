// WXBizMsgCrypt (see wechat_msg_crypt.hpp): SHA-1 signature, AES-256-CBC without cipher padding,
// PKCS#7 with K = 32 removed by hand, standard base64.
#include "crypto/wechat_msg_crypt.hpp"

#include <algorithm>
#include <array>
#include <memory>
#include <vector>

#include <openssl/evp.h>

#include "crypto/crypto.hpp"
#include "util/strings.hpp"

namespace mediax::wxcrypt {

namespace {

// WeChat pads to a multiple of the key length (32), not of the AES block (16).
constexpr std::size_t kPadBlock = 32;
constexpr std::size_t kRandomPrefix = 16;
constexpr std::size_t kLengthField = 4;

struct CtxFree {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};

// AES-256-CBC over whole blocks, padding off, IV = key[0:16]. nullopt on an OpenSSL failure.
std::optional<std::string> cbc(const AesKey& key, std::string_view in, bool encrypting) {
  std::unique_ptr<EVP_CIPHER_CTX, CtxFree> ctx(EVP_CIPHER_CTX_new());
  if (!ctx) return std::nullopt;
  const unsigned char* k = key.data();
  if (EVP_CipherInit_ex(ctx.get(), EVP_aes_256_cbc(), nullptr, k, k, encrypting ? 1 : 0) != 1) return std::nullopt;
  EVP_CIPHER_CTX_set_padding(ctx.get(), 0);
  std::string out(in.size() + 16, '\0');
  int len = 0;
  int tail = 0;
  if (EVP_CipherUpdate(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &len,
                       reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size())) != 1 ||
      EVP_CipherFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(out.data()) + len, &tail) != 1) {
    return std::nullopt;
  }
  out.resize(static_cast<std::size_t>(len + tail));
  return out;
}

DecryptResult refuse(const char* why) { return DecryptResult{std::nullopt, why}; }

}  // namespace

std::optional<AesKey> aes_key(std::string_view encoding_aes_key) {
  if (encoding_aes_key.size() != 43) return std::nullopt;
  auto raw = crypto::base64_decode(std::string(encoding_aes_key) + "=");
  if (!raw || raw->size() != 32) return std::nullopt;
  AesKey key{};
  std::copy(raw->begin(), raw->end(), key.begin());
  return key;
}

std::string signature(std::string_view token, std::string_view timestamp, std::string_view nonce,
                      std::string_view encrypt) {
  std::array<std::string_view, 4> parts{token, timestamp, nonce, encrypt};
  std::sort(parts.begin(), parts.end());
  std::string joined;
  for (auto p : parts) joined += p;
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  if (EVP_Digest(joined.data(), joined.size(), md.data(), &len, EVP_sha1(), nullptr) != 1) {
    return {};  // never equal to a 40-character signature
  }
  return crypto::to_hex(std::string_view(reinterpret_cast<const char*>(md.data()), len));
}

bool signature_matches(std::string_view received, std::string_view expected) {
  if (expected.empty()) return false;
  return crypto::constant_time_equals(util::to_lower(received), expected);
}

DecryptResult decrypt(const AesKey& key, std::string_view encrypt) {
  auto cipher = crypto::base64_decode(encrypt);
  if (!cipher) return refuse("not base64");
  if (cipher->empty() || cipher->size() % kPadBlock != 0) return refuse("length not a multiple of 32");
  auto plain = cbc(key, *cipher, false);
  if (!plain) return refuse("cipher failure");
  auto pad = static_cast<std::uint8_t>(plain->back());
  if (pad < 1 || pad > kPadBlock) return refuse("bad padding");
  // Every pad byte carries the pad length (PKCS#7). A wrong key gives garbage that rarely passes this.
  for (std::size_t i = plain->size() - pad; i < plain->size(); ++i) {
    if (static_cast<std::uint8_t>((*plain)[i]) != pad) return refuse("bad padding");
  }
  plain->resize(plain->size() - pad);
  if (plain->size() < kRandomPrefix + kLengthField) return refuse("too short");
  std::uint32_t msg_len = 0;
  for (std::size_t i = 0; i < kLengthField; ++i) {
    msg_len = (msg_len << 8) | static_cast<std::uint8_t>((*plain)[kRandomPrefix + i]);
  }
  std::size_t body = plain->size() - kRandomPrefix - kLengthField;
  if (msg_len > body) return refuse("message length beyond the data");
  Opened o;
  o.message = plain->substr(kRandomPrefix + kLengthField, msg_len);
  o.receive_id = plain->substr(kRandomPrefix + kLengthField + msg_len);
  return DecryptResult{std::move(o), ""};
}

std::string encrypt(const AesKey& key, std::string_view message, std::string_view receive_id,
                    std::string_view random16) {
  std::string plain = random16.size() == kRandomPrefix ? std::string(random16) : crypto::random_bytes(kRandomPrefix);
  auto n = static_cast<std::uint32_t>(message.size());
  plain += static_cast<char>((n >> 24) & 0xFF);
  plain += static_cast<char>((n >> 16) & 0xFF);
  plain += static_cast<char>((n >> 8) & 0xFF);
  plain += static_cast<char>(n & 0xFF);
  plain += message;
  plain += receive_id;
  std::size_t pad = kPadBlock - plain.size() % kPadBlock;  // 1..32: a full block when already aligned
  plain.append(pad, static_cast<char>(pad));
  auto cipher = cbc(key, plain, true);
  if (!cipher) return {};
  return crypto::base64_encode(*cipher);
}

}  // namespace mediax::wxcrypt
