// RS256 JSON Web Tokens (RFC 7515 compact serialization, RFC 7518 §3.3: RSASSA-PKCS1-v1_5 with
// SHA-256), as Google's service-account assertions need. OpenSSL stays in the .cpp.
// Error texts never contain the key.
#pragma once

#include <string>
#include <string_view>

namespace mediax::crypto {

struct JwtResult {
  std::string token;  // header.payload.signature, base64url without padding
  std::string error;  // empty on success
  bool ok() const { return error.empty(); }
};

// Signs the two JSON texts as given (the caller builds them) with a PEM RSA private key
// ("BEGIN PRIVATE KEY" PKCS#8 or "BEGIN RSA PRIVATE KEY" PKCS#1). Encrypted keys are refused.
JwtResult sign_jwt_rs256(std::string_view header_json, std::string_view claims_json, std::string_view private_key_pem);

// "" when `private_key_pem` holds an unencrypted RSA private key of at least 2048 bits, else why not.
std::string check_rsa_private_key(std::string_view private_key_pem);

}  // namespace mediax::crypto
