// Checks the id_token of a token answer before its `sub` becomes a grant's account id: RS256
// signature with the provider's published keys (JWKS), issuer, audience (the client id) and expiry
// (crypto::verify_jwt_rs256). Key sets are fetched with the platform's HttpClient and kept for the
// lifetime their Cache-Control allows (clamped, see jwks_cache_lifetime); a token signed with a key
// the cached set does not have is checked again against a freshly fetched set, since providers
// rotate keys (Google every few weeks) and publish the new one shortly before using it.
// Thread-safe: platform calls run on several refresh workers.
#pragma once

#include <map>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "core/types.hpp"
#include "crypto/jwt_verify.hpp"
#include "fiber/condition.hpp"
#include "net/http_client.hpp"

namespace mediax {

// How long a fetched key set is used: Cache-Control max-age (Google sends about six hours), at least
// 5 minutes and at most a day; an hour when the answer says nothing usable (no-store included).
Seconds jwks_cache_lifetime(const std::string& cache_control);

// The account behind an id_token, or why it was refused (an Outcome failure for the code exchange).
struct IdTokenResult {
  std::string subject;  // the verified "sub"
  std::optional<Outcome> failure;
  bool ok() const { return !failure; }
};

class IdTokenVerifier {
 public:
  explicit IdTokenVerifier(HttpClient& http) : http_(http) {}

  // Verifies `id_token` with the keys at `jwks_url`. A refused token is app_misconfigured with
  // code "invalid_id_token" (the message says which check failed, never the token); key set
  // unreachable: retry_later "jwks_unavailable". `want.now` is the time to judge expiry by.
  IdTokenResult verify(const std::string& id_token, const std::string& jwks_url, const crypto::JwtExpectations& want);

  // Forgets every cached key set (tests).
  void clear();

 private:
  struct KeySet {
    nlohmann::json jwks;
    TimePoint fresh_until{};
  };
  // Fetches the set; an error message (fit for the admin) when it could not.
  std::optional<std::string> fetch(const std::string& url, TimePoint now, KeySet& out);

  HttpClient& http_;
  // Held across the fetch (one fetch per set at a time); a fiber mutex, as a refresh on a fiber
  // may wait for it (fiber/fiber.hpp).
  fiber::Mutex mu_;
  std::map<std::string, KeySet> sets_;
};

}  // namespace mediax
