// Small helpers shared by the Douyin, WeChat and Google platform tests.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/types.hpp"
#include "net/http_client.hpp"
#include "util/url.hpp"

namespace mediax::testing {

// Form body or query string -> map; fails the test on a repeated field.
inline std::map<std::string, std::string> fields_of(const std::string& text) {
  std::map<std::string, std::string> m;
  for (auto& [k, v] : parse_query(text)) {
    EXPECT_EQ(m.count(k), 0u) << "repeated field " << k;
    m[k] = v;
  }
  return m;
}

// The query of a URL (without a fragment) as a map.
inline std::map<std::string, std::string> query_fields(const std::string& url) {
  std::string u = url.substr(0, url.find('#'));
  auto q = u.find('?');
  return q == std::string::npos ? std::map<std::string, std::string>{} : fields_of(u.substr(q + 1));
}

// The names of the query parameters in order.
inline std::vector<std::string> query_names(const std::string& url) {
  std::string u = url.substr(0, url.find('#'));
  auto q = u.find('?');
  std::vector<std::string> out;
  if (q == std::string::npos) return out;
  for (auto& [k, v] : parse_query(u.substr(q + 1))) out.push_back(k);
  return out;
}

inline std::string header_value(const ClientRequest& r, const std::string& name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return "";
}

inline ClientResponse http_response(int status, std::string body, HeaderList headers = {}) {
  ClientResponse r;
  r.status = status;
  r.body = std::move(body);
  r.headers = std::move(headers);
  return r;
}

// Fails the test when the Outcome's message or code contains any of `secrets`.
inline void expect_no_leak(const Outcome& o, const std::vector<std::string>& secrets) {
  for (const auto& s : secrets) {
    if (s.empty()) continue;
    EXPECT_EQ(o.message.find(s), std::string::npos) << "message leaks " << s << ": " << o.message;
    EXPECT_EQ(o.code.find(s), std::string::npos) << "code leaks " << s << ": " << o.code;
  }
}

}  // namespace mediax::testing
