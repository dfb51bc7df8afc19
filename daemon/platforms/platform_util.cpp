#include "platforms/platform_util.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <ctime>

#include "platforms/platform.hpp"
#include "util/json_depth.hpp"
#include "util/strings.hpp"
#include "util/url.hpp"

namespace mediax::platform_util {

std::string configured_url(const PlatformSettings& settings, const std::string& platform, const std::string& key,
                           const std::string& fallback) {
  if (auto p = settings.urls.find(platform); p != settings.urls.end()) {
    if (auto u = p->second.find(key); u != p->second.end() && !u->second.empty()) return u->second;
  }
  return fallback;
}


namespace {

using nlohmann::json;

constexpr std::size_t kMaxMessage = 300;

std::optional<std::tm> parse_http_date(const std::string& s) {
  // IMF-fixdate first (the only one senders may generate), then the two obsolete forms (RFC 9110 §5.6.7).
  for (const char* fmt : {"%a, %d %b %Y %H:%M:%S GMT", "%A, %d-%b-%y %H:%M:%S GMT", "%a %b %d %H:%M:%S %Y"}) {
    std::tm tm{};
    const char* end = strptime(s.c_str(), fmt, &tm);
    if (end != nullptr && *end == '\0') return tm;
  }
  return std::nullopt;
}

}  // namespace

std::optional<json> parse_object(const std::string& body) {
  if (util::json_nesting_depth(body, kMaxAnswerDepth) > kMaxAnswerDepth) return std::nullopt;
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  return j;
}

std::string string_member(const json& j, const char* key) {
  if (!j.is_object()) return "";
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return "";
  return it->get<std::string>();
}

std::optional<std::int64_t> int_member(const json& j, const char* key) {
  if (!j.is_object()) return std::nullopt;
  auto it = j.find(key);
  if (it == j.end()) return std::nullopt;
  if (it->is_number_integer()) return it->get<std::int64_t>();
  if (it->is_number_unsigned()) {
    auto u = it->get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(INT64_MAX)) return std::nullopt;
    return static_cast<std::int64_t>(u);
  }
  if (it->is_number_float()) {
    double d = it->get<double>();
    if (!std::isfinite(d) || d != std::floor(d) || std::fabs(d) > 9.0e15) return std::nullopt;
    return static_cast<std::int64_t>(d);
  }
  if (it->is_string()) {
    std::string s = std::string(util::trim(it->get<std::string>()));
    if (!s.empty() && s.front() == '+') s.erase(0, 1);
    std::int64_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
    return v;
  }
  return std::nullopt;
}

std::optional<Seconds> seconds_member(const json& j, const char* key) {
  if (!j.is_object()) return std::nullopt;
  auto it = j.find(key);
  if (it == j.end()) return std::nullopt;
  std::int64_t v = 0;
  if (it->is_number_unsigned()) {
    v = static_cast<std::int64_t>(std::min<std::uint64_t>(it->get<std::uint64_t>(), kMaxSeconds));
  } else if (it->is_number_float()) {
    double d = it->get<double>();
    // Checked before the cast: converting a double outside int64's range is undefined (-1e300).
    if (!std::isfinite(d) || d < 1) return std::nullopt;
    v = d >= static_cast<double>(kMaxSeconds) ? kMaxSeconds : static_cast<std::int64_t>(d);
  } else if (it->is_string()) {
    std::string s = std::string(util::trim(it->get<std::string>()));
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec == std::errc::result_out_of_range && !s.empty() && s.front() != '-') {
      v = kMaxSeconds;
    } else if (s.empty() || ec != std::errc() || p != s.data() + s.size()) {
      return std::nullopt;
    }
  } else if (auto i = int_member(j, key)) {
    v = *i;
  } else {
    return std::nullopt;
  }
  if (v <= 0) return std::nullopt;
  return Seconds(std::min(v, kMaxSeconds));
}

std::string id_member(const json& j, const char* key) {
  if (!j.is_object()) return "";
  auto it = j.find(key);
  if (it == j.end()) return "";
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number_integer() || it->is_number_unsigned()) return it->dump();
  return "";
}

std::string clean_text(const std::string& s) {
  std::string out;
  out.reserve(std::min(s.size(), kMaxMessage));
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    out += (u < 0x20 || u == 0x7F) ? ' ' : c;
  }
  if (out.size() > kMaxMessage) {
    std::size_t cut = kMaxMessage;
    while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;
    out.resize(cut);
    out += "...";
  }
  return out;
}

std::string scrub(std::string text, const std::vector<std::string>& secrets) {
  static const std::string kMark = "[redacted]";
  for (const auto& s : secrets) {
    // Very short values would match ordinary words; real secrets and tokens are longer.
    if (s.size() < 4) continue;
    for (auto pos = text.find(s); pos != std::string::npos; pos = text.find(s, pos + kMark.size())) {
      text.replace(pos, s.size(), kMark);
    }
  }
  return text;
}

std::string safe_text(const std::string& s, const std::vector<std::string>& secrets) {
  return clean_text(scrub(s, secrets));
}

std::optional<Seconds> parse_retry_after(const std::string& value, TimePoint now) {
  std::string v = std::string(util::trim(value));
  if (v.empty()) return std::nullopt;
  if (std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    std::int64_t s = 0;
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), s);
    if (ec == std::errc::result_out_of_range) return Seconds(kMaxSeconds);
    if (ec != std::errc() || p != v.data() + v.size()) return std::nullopt;
    return Seconds(std::min(s, kMaxSeconds));
  }
  auto tm = parse_http_date(v);
  if (!tm) return std::nullopt;
  std::time_t at = timegm(&*tm);
  if (at == static_cast<std::time_t>(-1)) return std::nullopt;
  auto delta = static_cast<std::int64_t>(at) - to_unix(now);
  return Seconds(std::clamp<std::int64_t>(delta, 0, kMaxSeconds));
}

std::string join(const std::vector<std::string>& parts, const std::string& separator) {
  std::string out;
  for (const auto& p : parts) {
    if (p.empty()) continue;
    if (!out.empty()) out += separator;
    out += p;
  }
  return out;
}

std::string append_query(const std::string& base, const Form& fields) {
  std::string url = base.substr(0, base.find('#'));
  if (fields.empty()) return url;
  if (url.find('?') == std::string::npos) {
    url += '?';
  } else if (url.back() != '?' && url.back() != '&') {
    url += '&';
  }
  return url + form_encode(fields);
}

std::string join_url(const std::string& base_url, const std::string& path) {
  std::string b = base_url;
  while (!b.empty() && b.back() == '/') b.pop_back();
  return b + path;
}

namespace {

bool vschar_only(const std::string& s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= 0x20 && c <= 0x7e; });
}

bool has_nul(const json& j) {
  if (j.is_string()) return j.get_ref<const std::string&>().find('\0') != std::string::npos;
  if (j.is_object()) {
    for (const auto& [k, v] : j.items()) {
      if (k.find('\0') != std::string::npos || has_nul(v)) return true;
    }
  } else if (j.is_array()) {
    for (const auto& v : j) {
      if (has_nul(v)) return true;
    }
  }
  return false;
}

}  // namespace

std::optional<std::string> token_result_problem(const TokenResult& t) {
  if (!vschar_only(t.access_token)) return "access_token";
  if (t.refresh_token && !vschar_only(*t.refresh_token)) return "refresh_token";
  if (!vschar_only(t.token_type)) return "token_type";
  if (t.account_id.find('\0') != std::string::npos) return "account id";
  for (const auto& s : t.scopes) {
    if (s.find('\0') != std::string::npos) return "scope";
  }
  if (has_nul(t.extra)) return "extra";
  return std::nullopt;
}

Outcome checked_success(TokenResult t, int http_status, const std::string& what) {
  if (auto field = token_result_problem(t)) {
    return Outcome::failure(OutcomeKind::retry_later, "bad_response",
                            what + " answered with characters not allowed in " + *field, http_status);
  }
  Outcome o = Outcome::success(std::move(t));
  o.http_status = http_status;
  return o;
}

OutcomeKind kind_of_code(std::int64_t code, const std::vector<CodeKinds>& table, OutcomeKind otherwise) {
  for (const auto& group : table) {
    if (std::find(group.codes.begin(), group.codes.end(), code) != group.codes.end()) return group.kind;
  }
  return otherwise;
}

HttpStatusClass classify_http_status(int status) {
  if (status == 0) return HttpStatusClass::no_answer;
  if (status == 429) return HttpStatusClass::rate_limited;
  if (status >= 500 || status == 408) return HttpStatusClass::server_trouble;
  if (status == 401 || status == 403) return HttpStatusClass::credentials_refused;
  if ((status >= 300 && status < 400) || status == 404 || status == 405) return HttpStatusClass::wrong_url;
  if (status >= 200 && status < 300) return HttpStatusClass::answered;
  return HttpStatusClass::other;
}

bool status_decides(int status) {
  const auto c = classify_http_status(status);
  return c == HttpStatusClass::no_answer || c == HttpStatusClass::rate_limited || c == HttpStatusClass::server_trouble;
}

std::optional<Outcome> refused_address(const HttpClientResponse& r, const std::string& what) {
  if (!r.address_refused()) return std::nullopt;
  return Outcome::failure(OutcomeKind::app_misconfigured, kAddressNotAllowed,
                          "not calling " + what + ": " + r.error_detail);
}

Outcome http_failure(const HttpClientResponse& r, const std::string& what, TimePoint now) {
  if (auto refused = refused_address(r, what)) return *refused;
  const int status = r.status;
  const std::string code = "http_" + std::to_string(status);
  const std::string head = what + " answered HTTP " + std::to_string(status);
  switch (classify_http_status(status)) {
    case HttpStatusClass::no_answer: {
      const std::string err = r.error.empty() ? "unknown" : r.error;
      return Outcome::failure(OutcomeKind::retry_later, "transport_" + err,
                              "no answer from " + what + " (" + err + ")");
    }
    case HttpStatusClass::rate_limited:
      return Outcome::failure(OutcomeKind::rate_limited, code, head + " (too many requests)", status,
                              parse_retry_after(r.header("Retry-After"), now));
    case HttpStatusClass::credentials_refused:
      return Outcome::failure(OutcomeKind::app_misconfigured, code, head + ": the credentials were refused", status);
    case HttpStatusClass::wrong_url:
      return Outcome::failure(OutcomeKind::app_misconfigured, code, head + ": check the configured URL", status);
    case HttpStatusClass::answered:
      return Outcome::failure(OutcomeKind::retry_later, "bad_response", head + " with a body that is not a JSON object",
                              status);
    case HttpStatusClass::server_trouble:
    case HttpStatusClass::other: break;
  }
  return Outcome::failure(OutcomeKind::retry_later, code, head, status,
                          parse_retry_after(r.header("Retry-After"), now));
}

std::optional<std::string> unknown_option(const json& options, const std::vector<std::string>& known) {
  if (options.is_null()) return std::nullopt;
  if (!options.is_object()) return "options: must be an object";
  for (const auto& [key, value] : options.items()) {
    // The key is quoted cleaned (found by fuzz_douyin: a "\u0000" in it reached the message).
    if (std::find(known.begin(), known.end(), key) == known.end())
      return "options." + clean_text(key) + ": unknown option";
  }
  return std::nullopt;
}

std::optional<std::string> integer_option(const json& options, const char* key, std::int64_t lo, std::int64_t hi,
                                          std::int64_t& out) {
  if (!options.is_object()) return std::nullopt;
  auto it = options.find(key);
  if (it == options.end() || it->is_null()) return std::nullopt;
  std::string range = std::to_string(lo) + ".." + std::to_string(hi);
  if (!it->is_number_integer() && !it->is_number_unsigned()) {
    return std::string("options.") + key + ": must be an integer in " + range;
  }
  bool fits = it->is_number_unsigned() ? it->get<std::uint64_t>() <= static_cast<std::uint64_t>(hi)
                                       : it->get<std::int64_t>() <= hi;
  if (!fits || (it->is_number_integer() && it->get<std::int64_t>() < lo)) {
    return std::string("options.") + key + ": must be in " + range;
  }
  out = it->is_number_unsigned() ? static_cast<std::int64_t>(it->get<std::uint64_t>()) : it->get<std::int64_t>();
  return std::nullopt;
}

std::optional<std::string> choice_option(const json& options, const char* key, const std::vector<std::string>& allowed,
                                         std::string& out) {
  if (!options.is_object()) return std::nullopt;
  auto it = options.find(key);
  if (it == options.end() || it->is_null()) return std::nullopt;
  std::string list = join(allowed, " or ");
  if (!it->is_string()) return std::string("options.") + key + ": must be " + list;
  auto v = it->get<std::string>();
  if (std::find(allowed.begin(), allowed.end(), v) == allowed.end()) {
    return std::string("options.") + key + ": must be " + list;
  }
  out = v;
  return std::nullopt;
}

std::optional<std::string> bool_option(const json& options, const char* key, bool& out) {
  if (!options.is_object()) return std::nullopt;
  auto it = options.find(key);
  if (it == options.end() || it->is_null()) return std::nullopt;
  if (!it->is_boolean()) return std::string("options.") + key + ": must be true or false";
  out = it->get<bool>();
  return std::nullopt;
}

Seconds until_next_midnight(TimePoint now, int utc_offset_hours) {
  constexpr std::int64_t kDay = 24 * 3600;
  std::int64_t local = to_unix(now) + static_cast<std::int64_t>(utc_offset_hours) * 3600;
  std::int64_t into_day = ((local % kDay) + kDay) % kDay;
  return Seconds(kDay - into_day);
}

}  // namespace mediax::platform_util
