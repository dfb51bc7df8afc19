// What the platform's redirect to /oauth/callback carries, read from its query parameters. Pure.
//
// The WeChat third-party platform differs from OAuth 2.0: it sends `auth_code` (and expires_in)
// instead of `code`, and no state of its own; the state rides in the redirect_uri we sent
// ({app.redirect_uri}?state=STATE). WeChat appends its parameters to that URI: with '&' the query is
// ordinary; should it append with a second '?', the state parameter arrives as
// "STATE?auth_code=…&…", and the part after '?' is read as parameters too (a state is hex only).
#pragma once

#include <map>
#include <optional>
#include <string>

namespace mediax {

struct CallbackParams {
  std::string state;
  std::string code;        // `code`, else the third-party platform's `auth_code`
  bool auth_code = false;  // the code came as `auth_code` (WeChat third-party platform)
  std::string error;       // OAuth 2.0 error (the user refused, ...)
  std::string error_description;
  std::optional<std::string> iss;  // RFC 9207: the authorization server's issuer, when it sent one
};

CallbackParams callback_params(const std::map<std::string, std::string>& query);

}  // namespace mediax
