// The fake provider's id_token signing key: RSA 2048 made at start, RS256 signatures and the JWK Set
// served at the discovery document's jwks_uri (OpenID Connect Core §10.1). OpenSSL directly: the
// fake must not share the daemon's code.
#pragma once

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

namespace mediax::fake {

class RsaSigner {
 public:
  RsaSigner();
  // header.payload.signature with {"alg":"RS256","typ":"JWT","kid"} and `claims`.
  std::string sign_jwt(const nlohmann::json& claims) const;
  // {"keys":[{"kty":"RSA","alg":"RS256","use":"sig","kid","n","e"}]}
  nlohmann::json jwks() const;

 private:
  std::string kid_;
  std::shared_ptr<void> key_;  // EVP_PKEY, kept out of the header
};

}  // namespace mediax::fake
