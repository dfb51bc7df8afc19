// Randomness, hashing, encodings and PKCE. OpenSSL is used only in this folder.
// Byte strings are std::string (they may hold any byte, including '\0').
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace mediax::crypto {

// n bytes from the OpenSSL CSPRNG. Throws std::runtime_error if it fails (fatal: never fall back).
std::string random_bytes(std::size_t n);
// base64url (no padding) of `bytes` random bytes; 32 bytes = 256 bits = 43 characters. Used for `state`.
std::string random_token(std::size_t bytes = 32);

// RFC 4648 §5 alphabet, no padding.
std::string base64url_encode(std::string_view bytes);
// Accepts input with or without '=' padding; nullopt on any other character or an impossible length.
std::optional<std::string> base64url_decode(std::string_view text);
// RFC 4648 §4 alphabet with padding (HTTP Basic auth).
std::string base64_encode(std::string_view bytes);
// Strict RFC 4648 §4: a length that is a multiple of 4, '=' only as the last one or two characters;
// nullopt otherwise (WeChat's pushes and EncodingAESKey).
std::optional<std::string> base64_decode(std::string_view text);

std::string sha256(std::string_view bytes);                           // 32 raw bytes
std::string hmac_sha256(std::string_view key, std::string_view msg);  // 32 raw bytes
std::string to_hex(std::string_view bytes);                           // lower case

// RFC 7636: a 64-character verifier from [A-Za-z0-9-._~] and its S256 challenge.
std::string pkce_verifier();
std::string pkce_challenge_s256(std::string_view verifier);

// Overwrites the bytes of s with zeros (OPENSSL_cleanse: not optimised away) and empties it. For
// key material and decrypted secrets once they are no longer needed, so a later memory read
// (a core file, a swapped page, a heap reuse) finds less. Layers without OpenSSL use
// util::secure_wipe, the same thing.
void secure_wipe(std::string& s);

// Compares in time independent of where the first difference is (length is not hidden).
bool constant_time_equals(std::string_view a, std::string_view b);

}  // namespace mediax::crypto
