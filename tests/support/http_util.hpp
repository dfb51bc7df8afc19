// A small blocking HTTP client for tests (cpp-httplib stays in the .cpp): one call, no redirects
// followed, JSON helpers, and URL pieces. Never throws for network errors: they come back in `error`.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace mediax::test {

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct HttpResult {
  int status = 0;  // 0: no answer, see error
  std::string body;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string error;

  std::string header(const std::string& name) const;  // case-insensitive, "" when absent
  // The body as JSON; a discarded value (is_discarded()) when it is not JSON.
  nlohmann::json json() const;
  std::string describe() const;  // "HTTP 400: {...}" for assertion messages
};

HttpResult http_request(const std::string& method, const std::string& url, const std::string& body = "",
                        const std::string& content_type = "", const HttpHeaders& headers = {},
                        std::chrono::milliseconds timeout = std::chrono::seconds(30));
HttpResult http_get(const std::string& url, const HttpHeaders& headers = {});
HttpResult http_delete(const std::string& url);
HttpResult http_post_json(const std::string& url, const nlohmann::json& body);
HttpResult http_post_raw(const std::string& url, const std::string& body, const std::string& content_type);
HttpResult http_post_form(const std::string& url, const std::vector<std::pair<std::string, std::string>>& fields,
                          const HttpHeaders& headers = {});

struct Url {
  std::string scheme;
  std::string host;
  int port = 0;
  std::string target;  // path and query, "/" at least
  std::string path;
  std::string query;  // without '?'
};
std::optional<Url> parse_url(const std::string& url);

std::string url_encode(const std::string& s);
std::string url_decode(const std::string& s);
// The decoded value of query parameter `name` in `url`; nullopt when absent.
std::optional<std::string> query_param(const std::string& url, const std::string& name);
// Appends name=value (encoded) to the URL's query.
std::string add_query_param(const std::string& url, const std::string& name, const std::string& value);

}  // namespace mediax::test
