// URL parsing and encoding: what platform request builders, the HTTP client and log lines share.
// (In namespace mediax, where they were before util/ existed.)
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace mediax {

struct ParsedUrl {
  std::string scheme;  // "http" or "https" (lower case)
  std::string host;    // IPv6 literals without brackets
  int port = 0;        // explicit, or 80 / 443 by scheme
  std::string target;  // path and query ("/" when empty); the fragment is dropped
};
// nullopt unless absolute http(s) with a host, a valid port and no userinfo.
std::optional<ParsedUrl> parse_url(const std::string& url);
// s with every byte keep() refuses written as %XX (upper-case hex).
std::string percent_encode(const std::string& s, bool (*keep)(unsigned char));
// Everything but RFC 3986's unreserved characters escaped (a query or form value).
std::string url_encode(const std::string& s);
std::string form_encode(const std::vector<std::pair<std::string, std::string>>& fields);
std::vector<std::pair<std::string, std::string>> parse_query(const std::string& query);
// Drops the query string and userinfo so a URL can be logged without secrets.
std::string redact_url(const std::string& url);

}  // namespace mediax
