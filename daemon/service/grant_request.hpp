// The bodies of POST /v1/apps/{name}/grants (a code the creator's own app obtained) and
// POST /v1/apps/{name}/grants/import (a refresh token from another system), read as strictly as
// POST /v1/apps (service/app_request.hpp): unknown fields, wrong types and malformed values are
// ApiError 400 "invalid_field" naming the field. Codes, verifiers and refresh tokens are never
// quoted back. No I/O.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/types.hpp"

namespace mediax {

// Longest code, refresh token and account id taken (platforms issue a few hundred bytes at most).
inline constexpr std::size_t kMaxCodeLength = 4096;
inline constexpr std::size_t kMaxImportedTokenLength = 16384;
inline constexpr std::size_t kMaxAccountIdLength = 512;

struct CodeGrantRequest {
  std::string code;
  std::string redirect_uri;   // "": the app's redirect_uri (what the code was bound to, if anything)
  std::string code_verifier;  // "": no PKCE (Douyin and WeChat take none)
};
CodeGrantRequest code_grant_from_request(const nlohmann::json& body);

struct ImportGrantRequest {
  std::string account_id;
  std::string refresh_token;
  std::optional<TimePoint> refresh_expires_at;
  std::vector<std::string> scopes;  // empty: as the platform says, else the app's
};
// `now` refuses a refresh_expires_at that has already passed: that refresh token is dead by the
// caller's own account, and storing it would mark the grant for re-authorization at once.
ImportGrantRequest import_grant_from_request(const nlohmann::json& body, TimePoint now);

// RFC 7636 §4.1: 43 to 128 characters of [A-Za-z0-9-._~].
bool valid_code_verifier(const std::string& v);

}  // namespace mediax
