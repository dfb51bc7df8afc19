#include "service/authorize_choices.hpp"

#include <cctype>
#include <set>

#include "service/app_request.hpp"

namespace mediax {

namespace {

constexpr std::size_t kMaxPromptLength = 100;
// An email address or an OpenID sub (at most 255 ASCII characters).
constexpr std::size_t kMaxLoginHintLength = 320;
// A WeChat appid is "wx" and 16 hex digits; the bound leaves room without letting anything else into the URL.
constexpr std::size_t kMaxBizAppidLength = 64;

std::vector<std::string> scopes_from(const nlohmann::json& list) {
  if (!list.is_array()) throw bad_field("scopes", "must be an array of strings");
  if (list.size() > kMaxScopes) throw bad_field("scopes", "at most " + std::to_string(kMaxScopes) + " scopes");
  std::vector<std::string> out;
  for (const auto& s : list) {
    if (!s.is_string() || s.get<std::string>().empty())
      throw bad_field("scopes", "must be an array of non-empty strings");
    const std::string scope = s.get<std::string>();
    if (scope.size() > kMaxScopeLength) {
      throw bad_field("scopes", "a scope is at most " + std::to_string(kMaxScopeLength) + " characters");
    }
    for (unsigned char c : scope) {
      // RFC 6749 §3.3 scope-token.
      if (c <= 0x20 || c >= 0x7f || c == '"' || c == '\\') {
        throw bad_field("scopes", "a scope is printable ASCII without spaces, '\"' or '\\'");
      }
    }
    out.push_back(scope);
  }
  return out;
}

std::vector<std::string> split_spaces(const std::string& s) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < s.size()) {
    auto b = s.find_first_not_of(' ', i);
    if (b == std::string::npos) break;
    auto e = s.find(' ', b);
    if (e == std::string::npos) e = s.size();
    out.push_back(s.substr(b, e - b));
    i = e;
  }
  return out;
}

void check_prompt(const std::string& prompt) {
  for (unsigned char c : prompt) {
    if (c != ' ' && c != '_' && (c < 'a' || c > 'z')) {
      throw bad_field("prompt", "is space-separated values such as select_account and consent");
    }
  }
}

void check_biz_appid(const std::string& appid) {
  for (unsigned char c : appid) {
    if (!std::isalnum(c) && c != '_') throw bad_field("biz_appid", "is an account's appid: letters, digits and '_'");
  }
}

bool bool_from_query(const std::string& field, const std::string& v) {
  if (v != "true" && v != "false") throw bad_field(field, "must be true or false");
  return v == "true";
}

}  // namespace

AuthorizeChoices authorize_choices_from_request(const nlohmann::json& body) {
  AuthorizeChoices c;
  if (body.is_null()) return c;
  if (!body.is_object()) throw ApiError(400, "invalid_json", "the body must be a JSON object");
  static const std::set<std::string> known = {
      "grant_id", "scopes", "prompt", "login_hint", "include_granted_scopes", "mobile", "auth_type", "biz_appid"};
  for (const auto& [k, v] : body.items()) {
    if (!known.count(k)) throw bad_field(k.substr(0, 64), "unknown field");
  }
  if (auto it = body.find("grant_id"); it != body.end() && !it->is_null()) {
    if (!it->is_number_integer() || it->get<std::int64_t>() <= 0) throw bad_field("grant_id", "must be a grant's id");
    c.grant_id = it->get<std::int64_t>();
  }
  if (auto it = body.find("scopes"); it != body.end() && !it->is_null()) c.scopes = scopes_from(*it);
  c.prompt = get_string(body, "prompt", false, kMaxPromptLength);
  check_prompt(c.prompt);
  c.login_hint = get_string(body, "login_hint", false, kMaxLoginHintLength);
  if (auto it = body.find("include_granted_scopes"); it != body.end() && !it->is_null()) {
    if (!it->is_boolean()) throw bad_field("include_granted_scopes", "must be true or false");
    c.include_granted_scopes = it->get<bool>();
  }
  if (auto it = body.find("mobile"); it != body.end() && !it->is_null()) {
    if (!it->is_boolean()) throw bad_field("mobile", "must be true or false");
    c.mobile = it->get<bool>();
  }
  if (auto it = body.find("auth_type"); it != body.end() && !it->is_null()) {
    if (!it->is_number_integer() || it->get<std::int64_t>() < 1 || it->get<std::int64_t>() > 3) {
      throw bad_field("auth_type", "must be 1 (official accounts), 2 (mini programs) or 3 (both)");
    }
    c.auth_type = static_cast<int>(it->get<std::int64_t>());
  }
  c.biz_appid = get_string(body, "biz_appid", false, kMaxBizAppidLength);
  check_biz_appid(c.biz_appid);
  return c;
}

AuthorizeChoices authorize_choices_from_query(const std::map<std::string, std::string>& query) {
  nlohmann::json body = nlohmann::json::object();
  for (const auto& [k, v] : query) {
    if (k == "grant_id") {
      std::int64_t id = 0;
      for (char ch : v) {
        if (ch < '0' || ch > '9' || id > 1'000'000'000'000'000LL) throw bad_field("grant_id", "must be a grant's id");
        id = id * 10 + (ch - '0');
      }
      body["grant_id"] = id;
    } else if (k == "scope") {
      body["scopes"] = split_spaces(v);
    } else if (k == "include_granted_scopes" || k == "mobile") {
      body[k] = bool_from_query(k, v);
    } else if (k == "auth_type") {
      if (v.size() != 1 || v[0] < '0' || v[0] > '9') {
        throw bad_field("auth_type", "must be 1 (official accounts), 2 (mini programs) or 3 (both)");
      }
      body[k] = v[0] - '0';
    } else {
      body[k] = v;
    }
  }
  return authorize_choices_from_request(body);
}

nlohmann::json authorize_choices_to_json(const AuthorizeChoices& c) {
  nlohmann::json j = nlohmann::json::object();
  if (c.grant_id) j["grant_id"] = *c.grant_id;
  if (!c.scopes.empty()) j["scopes"] = c.scopes;
  if (!c.prompt.empty()) j["prompt"] = c.prompt;
  if (!c.login_hint.empty()) j["login_hint"] = c.login_hint;
  if (c.include_granted_scopes) j["include_granted_scopes"] = *c.include_granted_scopes;
  if (c.mobile) j["mobile"] = true;
  if (c.auth_type != 0) j["auth_type"] = c.auth_type;
  if (!c.biz_appid.empty()) j["biz_appid"] = c.biz_appid;
  return j;
}

}  // namespace mediax
