#include "service/grant_request.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>

#include "service/app_request.hpp"
#include "util/time_format.hpp"

namespace mediax {


bool valid_code_verifier(const std::string& v) {
  if (v.size() < 43 || v.size() > 128) return false;
  return std::all_of(v.begin(), v.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_' || c == '~';
  });
}

CodeGrantRequest code_grant_from_request(const nlohmann::json& body) {
  if (!body.is_object()) throw ApiError(400, "invalid_json", "the body must be a JSON object");
  reject_unknown_fields(body, {"code", "redirect_uri", "code_verifier"}, "");
  CodeGrantRequest r;
  // get_string's messages state limits only, never the value.
  r.code = get_string(body, "code", true, kMaxCodeLength);
  // Not only http(s): a mobile app's code is bound to its own scheme (com.example.app:/oauth2redirect),
  // Google's JavaScript popup to "postmessage".
  r.redirect_uri = get_string(body, "redirect_uri", false, 2048);
  r.code_verifier = get_string(body, "code_verifier", false, 128);
  if (body.contains("code_verifier") && !body["code_verifier"].is_null() && !valid_code_verifier(r.code_verifier)) {
    throw bad_field("code_verifier", "must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~ (RFC 7636 §4.1)");
  }
  return r;
}

ImportGrantRequest import_grant_from_request(const nlohmann::json& body, TimePoint now) {
  if (!body.is_object()) throw ApiError(400, "invalid_json", "the body must be a JSON object");
  reject_unknown_fields(body, {"account_id", "refresh_token", "refresh_expires_at", "scopes"}, "");
  ImportGrantRequest r;
  r.account_id = get_string(body, "account_id", true, kMaxAccountIdLength);
  r.refresh_token = get_string(body, "refresh_token", true, kMaxImportedTokenLength);
  if (auto it = body.find("refresh_expires_at"); it != body.end() && !it->is_null()) {
    if (!it->is_string()) throw bad_field("refresh_expires_at", "must be an ISO 8601 date-time string");
    r.refresh_expires_at = parse_iso8601(it->get<std::string>());
    if (!r.refresh_expires_at) {
      throw bad_field("refresh_expires_at",
                      "must be an ISO 8601 date-time with seconds and a zone, e.g. 2027-01-31T12:00:00Z");
    }
    if (*r.refresh_expires_at <= now) {
      throw bad_field("refresh_expires_at", "has passed (" + format_time(*r.refresh_expires_at) +
                                                "): that refresh token no longer works; connect the account again");
    }
  }
  r.scopes = get_scopes(body, "scopes");
  return r;
}

}  // namespace mediax
