// The generic OAuth 2.0 parsers: token answers of every flow (RFC 6749 §5.1/§5.2), revocation
// (RFC 7009), discovery documents (RFC 8414), the id_token's subject and Retry-After.
// Input: a response body, tried with every status that takes a different path.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_check.hpp"
#include "platforms/oauth2_platform.hpp"

using namespace mediax;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string body(reinterpret_cast<const char*>(data), size);
  const auto now = fuzz::fuzz_now();
  for (const auto& r : fuzz::responses_for(body)) {
    for (auto flow :
         {oauth2::Flow::authorization_code, oauth2::Flow::refresh_token, oauth2::Flow::client_credentials}) {
      fuzz::check_outcome(oauth2::parse_token_response(r, flow, now, fuzz::secrets()));
    }
    fuzz::check_outcome(oauth2::parse_revoke_response(r, now, fuzz::secrets()));
  }
  const auto d = oauth2::parse_discovery_document(body, "https://idp.example");
  if (d.ok() && (d.endpoints.token_url.rfind("http", 0) != 0 || d.endpoints.authorize_url.rfind("http", 0) != 0)) {
    fuzz::fail("discovery accepted an endpoint that is not an http(s) URL");
  }
  fuzz::check_storable(d.error, "Discovery::error");
  fuzz::check_storable(oauth2::jwt_subject(body), "jwt_subject");
  if (auto s = oauth2::parse_retry_after(body.substr(0, 64), now);
      s && (s->count() < 0 || s->count() > platform_util::kMaxSeconds)) {
    fuzz::fail("parse_retry_after out of range");
  }
  return 0;
}
