// WeChat's message encryption (消息加解密, "WXBizMsgCrypt"): how the WeChat open platform signs and
// encrypts what it pushes to a third-party platform's event URL (component_verify_ticket,
// authorization events), and how a reply would be encrypted.
//
// - msg_signature = hex(SHA-1(concat(sort([token, timestamp, nonce, encrypt])))).
// - AES key = base64-decode(EncodingAESKey + "="): 43 characters, 32 bytes. AES-256-CBC with
//   IV = key[0:16], cipher padding off; PKCS#7 padding removed by hand with K = 32 (the key length,
//   not the AES block size): the pad byte is 1..32.
// - plaintext = random(16) | msg_len (4 bytes, network order) | msg | receive_id (the component_appid).
//
// Reference: ../shared/platforms-wechat-component.md §1. Pure functions; OpenSSL only here.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mediax::wxcrypt {

using AesKey = std::array<std::uint8_t, 32>;

// The key an EncodingAESKey stands for; nullopt when it is not 43 base64 characters decoding to 32 bytes.
std::optional<AesKey> aes_key(std::string_view encoding_aes_key);

// hex SHA-1 of the four strings sorted byte-wise and concatenated (lower-case hex).
std::string signature(std::string_view token, std::string_view timestamp, std::string_view nonce,
                      std::string_view encrypt);

// Constant-time comparison of a received msg_signature with the expected one (case-insensitive hex).
bool signature_matches(std::string_view received, std::string_view expected);

struct Opened {
  std::string message;     // the XML (or JSON) message
  std::string receive_id;  // the trailing appid
};

struct DecryptResult {
  std::optional<Opened> opened;  // empty: `error` says why
  std::string error;             // a short fixed description ("not base64", "bad padding", ...), never content
};

// Decrypts `encrypt` (base64). Does not check receive_id: the caller compares it with its appid.
DecryptResult decrypt(const AesKey& key, std::string_view encrypt);

// Encrypts as WeChat does; `random16` is the 16-byte random prefix (tests pass the documentation's
// to reproduce its vector; empty: fresh random bytes). Returns base64.
std::string encrypt(const AesKey& key, std::string_view message, std::string_view receive_id,
                    std::string_view random16 = {});

}  // namespace mediax::wxcrypt
