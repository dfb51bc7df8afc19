// Bearer API key authentication of the admin API, as an httplib pre-routing handler.
// httplib.h stays in the .cpp: the server is only forward-declared here.
#pragma once

#include <exception>
#include <optional>
#include <string>

namespace httplib {
struct Request;
struct Response;
}  // namespace httplib

namespace mediax {

class ApiKeyRegistry;

// Routes anyone may call: /healthz, /readyz, /metrics, /oauth/callback and the console's static
// files under /console/.
bool is_public_route(const std::string& method, const std::string& path);
// POST /wechat/component/{app}/events (http/wechat_component_routes.hpp).
bool is_wechat_component_event_path(const std::string& path);
// What a `reader` key may do: GET /v1/apps/{name}/token, GET /v1/grants/{id}/token and
// POST .../token/rejected of either.
bool reader_may(const std::string& method, const std::string& path);
// The key of an "Authorization: Bearer <key>" header value; "" when it is not one.
std::string bearer_key(const std::string& authorization);

struct ApiKeyMatch;

// Why a request is refused: HTTP status (401, 403 or 503), error code and message.
struct AuthRefusal {
  int status = 0;
  std::string code;
  std::string message;
  // The WWW-Authenticate value a 401 carries; "" otherwise.
  std::string www_authenticate() const;
};

// The steps of refuse_without_api_key, for listeners that are not cpp-httplib (token_listener.cpp).
// Each logs the refusal it returns (route and key name, never the key).
AuthRefusal refuse_no_key(const std::string& method, const std::string& path);
AuthRefusal refuse_unchecked(const std::string& method, const std::string& path, const std::exception& e);
// nullopt: the key may call the route.
std::optional<AuthRefusal> refuse_match(const std::string& method, const std::string& path, const ApiKeyMatch& m);

// The check AdminServer runs before routing every request: answers 401 (WWW-Authenticate: Bearer)
// without a valid key, 403 when the key's role may not call the route, 503 when keys cannot be
// checked, and returns true then; false lets the request through. Refusals are logged with the
// route and the key's name when known, never the key.
bool refuse_without_api_key(const httplib::Request& req, httplib::Response& res, ApiKeyRegistry& keys);

}  // namespace mediax
