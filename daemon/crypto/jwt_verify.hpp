// Verifying RS256 JSON Web Tokens (RFC 7515 compact JWS, RFC 7518 §3.3) against a JWK Set
// (RFC 7517 §5), and the standard claims an OpenID Connect client checks on an ID token
// (OpenID Connect Core §3.1.3.7: iss, aud/azp, exp, iat). OpenSSL stays in the .cpp.
//
// Only RS256 is accepted: "none" has no signature, and HS256 would be signed with the client
// secret, which any holder of the secret could forge; neither may vouch for an account's identity.
// Messages name what is wrong, never the token or a key.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/types.hpp"

namespace mediax::crypto {

struct JwtExpectations {
  std::vector<std::string> issuers;  // accepted "iss" values (Google has two spellings of one issuer)
  std::string audience;              // the client_id: in "aud", and "azp" when present
  TimePoint now{};
  // Slack for the clocks of the provider and the daemon disagreeing a little.
  Seconds leeway{60};
};

enum class JwtFailure {
  none,
  malformed,    // not three base64url parts with JSON objects in the first two
  algorithm,    // alg is not RS256 (none, HS256, ...)
  unknown_key,  // no RSA key in the set has the header's kid
  signature,    // the signature does not verify with that key
  issuer,
  audience,
  expired,       // exp missing or past (beyond the leeway)
  not_yet_valid  // iat or nbf in the future (beyond the leeway)
};
std::string to_string(JwtFailure f);

struct JwtCheck {
  JwtFailure failure = JwtFailure::none;
  std::string message;                               // why, fit for an admin; empty on success
  nlohmann::json claims = nlohmann::json::object();  // the payload, filled once the signature verified
  std::string kid;                                   // the header's key id ("" when absent)
  bool ok() const { return failure == JwtFailure::none; }
};

// The header's kid and alg without verifying anything (to decide whether to fetch keys again).
// nullopt when the token is not a readable JWS.
struct JwtHeader {
  std::string alg;
  std::string kid;
};
std::optional<JwtHeader> read_jwt_header(std::string_view jwt);

// Verifies `jwt` with the RSA keys of `jwks` ({"keys":[{"kty":"RSA","kid","n","e",...}]}) and checks
// its claims against `want`. A key whose "use" is not "sig" or whose "alg" is not RS256 is not used.
// With no kid in the header, a set holding exactly one usable RSA key is tried.
JwtCheck verify_jwt_rs256(std::string_view jwt, const nlohmann::json& jwks, const JwtExpectations& want);

}  // namespace mediax::crypto
