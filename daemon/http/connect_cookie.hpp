// The __Host-mediax_connect cookie that binds a connect flow to the browser that opened its link:
// read from a Cookie header, set by GET /connect/start, cleared by the callback. Pure.
//
// `__Host-` makes browsers accept it only with Secure, Path=/ and no Domain: no other host, not even
// a sibling subdomain, can plant one. SameSite=Lax still sends it on the platform's top-level
// redirect back to the callback; HttpOnly keeps page scripts away from it.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace mediax {

// The value of cookie `name` in a Cookie request header ("a=1; b=2"); nullopt when absent.
std::optional<std::string> cookie_value(std::string_view cookie_header, std::string_view name);
// Set-Cookie values: the connect cookie for max_age, and its removal.
std::string set_connect_cookie(const std::string& value, std::chrono::seconds max_age);
std::string clear_connect_cookie();

}  // namespace mediax
