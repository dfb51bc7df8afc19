// A request and its answer as the routes see them, free of any HTTP library: the server
// (http/http_server.cpp, Boost.Beast) fills an HttpRequest from what it parsed and writes the
// HttpResponse back; routes, the dispatcher, their unit tests and the fuzz target use only this.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace mediax {

struct HttpRequest {
  std::string method;  // as sent ("GET", "POST", ...)
  std::string target;  // the request target as sent (path and query); never logged (codes, states)
  std::string path;    // the target's path, percent-decoded
  std::string query;   // the raw text after '?', "" when none
  std::vector<std::pair<std::string, std::string>> headers;  // as received, in order
  std::string body;                                          // de-chunked; "" when the request has none
  std::vector<std::string> params;  // the matched route's {name} segments, decoded, in order (routes.hpp)
  std::string peer;    // the peer's IP address as text ("127.0.0.1", "::1"), set by the server; "" without a socket
  std::string caller;  // the name of the API key the Dispatcher accepted; "" on open routes or without keys
  // That key's app scope (service/api_key_scope.hpp): the app names and patterns a scoped reader
  // key may use; empty: every app. Set by the Dispatcher with caller; token routes check it.
  std::vector<std::string> caller_apps;

  // The first header of that name, case-insensitively; "" when absent.
  std::string_view header(std::string_view name) const;
  bool has_header(std::string_view name) const;
  // The query's parameters, form-decoded ('+' is a space); the first of a repeated name wins.
  std::map<std::string, std::string> query_params() const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type;  // "" = no Content-Type header
  std::string body;
  // Headers besides Content-Type, Content-Length and Connection (the server writes those).
  std::vector<std::pair<std::string, std::string>> headers;
  bool close = false;  // close the connection after this answer

  // Replaces a header of that name (case-insensitively) or adds it.
  void set_header(std::string_view name, std::string value);
  // The value of a header set above; "" when none.
  std::string_view header(std::string_view name) const;
  // status with body as JSON text (http/answers.hpp json_text), application/json.
  void json(int status, const nlohmann::json& body);
  // {"error": code, "message": message, ...details} (http/answers.hpp error_body).
  void error(int status, const std::string& code, const std::string& message,
             const nlohmann::json& details = nlohmann::json::object());
  // A redirect to location (302 unless told), empty body.
  void redirect(std::string location, int status = 302);
};

}  // namespace mediax
