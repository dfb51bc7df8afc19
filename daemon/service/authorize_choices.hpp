// What an admin may choose for one connection (POST /v1/apps/{name}/authorize body, or the query of
// GET /v1/apps/{name}/connect), read strictly: unknown fields, wrong types and over-long values
// are ApiError 400 "invalid_field". Whether the app's platform can honour them is the platform's
// to say (Platform::check_authorize). No I/O.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "service/api_error.hpp"

namespace mediax {

struct AuthorizeChoices {
  // Ask this grant's account again for what it lacks (its missing_scopes), with
  // include_granted_scopes and the account as login_hint unless given otherwise.
  std::optional<std::int64_t> grant_id;
  std::vector<std::string> scopes;  // instead of the app's scopes
  std::string prompt;
  std::string login_hint;
  std::optional<bool> include_granted_scopes;
  // WeChat third-party platform (wechat_component): the mobile (H5) link instead of the PC page;
  // which accounts the page offers (1 official accounts, 2 mini programs, 3 both; 0: not chosen);
  // one account only (its appid). Platforms that take none refuse them (Platform::check_authorize).
  bool mobile = false;
  int auth_type = 0;
  std::string biz_appid;
};

// {"grant_id"?, "scopes"?, "prompt"?, "login_hint"?, "include_granted_scopes"?, "mobile"?,
// "auth_type"? (1..3), "biz_appid"? (at most 64 of [A-Za-z0-9_])}; null or an empty body: no choices.
AuthorizeChoices authorize_choices_from_request(const nlohmann::json& body);
// The same from query parameters: grant_id, scope (space-separated), prompt, login_hint,
// include_granted_scopes (true|false), mobile (true|false), auth_type (1..3), biz_appid.
AuthorizeChoices authorize_choices_from_query(const std::map<std::string, std::string>& query);
// The choices as authorize_choices_from_request reads them back (kept with a connect link).
nlohmann::json authorize_choices_to_json(const AuthorizeChoices& c);

}  // namespace mediax
