#include "service/grant_request.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>

#include "service/app_request.hpp"

namespace mediax {

namespace {

// The digits of s[pos, pos + n) as a number; nullopt unless all are digits.
std::optional<int> digits(const std::string& s, std::size_t pos, std::size_t n) {
  if (pos + n > s.size()) return std::nullopt;
  int v = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return std::nullopt;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

}  // namespace

std::optional<TimePoint> parse_iso8601(const std::string& s) {
  // YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)
  if (s.size() < 20 || s.size() > 40) return std::nullopt;
  const auto y = digits(s, 0, 4), mo = digits(s, 5, 2), d = digits(s, 8, 2);
  const auto h = digits(s, 11, 2), mi = digits(s, 14, 2), sec = digits(s, 17, 2);
  if (!y || !mo || !d || !h || !mi || !sec || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') ||
      s[13] != ':' || s[16] != ':') {
    return std::nullopt;
  }
  const std::chrono::year_month_day date{std::chrono::year(*y), std::chrono::month(static_cast<unsigned>(*mo)),
                                         std::chrono::day(static_cast<unsigned>(*d))};
  // TimePoint counts nanoseconds in 64 bits: it ends in 2262 (found by fuzz_admin_json).
  if (!date.ok() || *y < 1970 || *y > kMaxIso8601Year || *h > 23 || *mi > 59 || *sec > 59) return std::nullopt;
  std::size_t pos = 19;
  if (s[pos] == '.') {
    ++pos;
    const std::size_t first = pos;
    while (pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos]))) ++pos;
    if (pos == first) return std::nullopt;
  }
  int offset_minutes = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    const auto oh = digits(s, pos + 1, 2), om = digits(s, pos + 4, 2);
    if (!oh || !om || pos + 3 >= s.size() || s[pos + 3] != ':' || *oh > 23 || *om > 59) return std::nullopt;
    offset_minutes = (*oh * 60 + *om) * (s[pos] == '-' ? -1 : 1);
    pos += 6;
  } else {
    return std::nullopt;  // a time without a zone means nothing to a daemon in another one
  }
  if (pos != s.size()) return std::nullopt;
  const auto local = std::chrono::sys_days(date) + std::chrono::hours(*h) + std::chrono::minutes(*mi) +
                     std::chrono::seconds(*sec);
  return TimePoint(std::chrono::duration_cast<TimePoint::duration>((local - std::chrono::minutes(offset_minutes))
                                                                       .time_since_epoch()));
}

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
      throw bad_field("refresh_expires_at", "must be an ISO 8601 date-time with seconds and a zone, e.g. 2027-01-31T12:00:00Z");
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
