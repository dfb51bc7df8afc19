// admin/openapi.yaml against the running daemon: every documented (method, path) reaches a route
// (whatever its answer, never the generic "no route" 404), and routes it does not list are 404.
// tests/unit/test_openapi.cpp compares the same list with the routes registered in the source.
#include <regex>

#include "harness.hpp"
#include "support/openapi_paths.hpp"

namespace mediax::e2e {
namespace {

using OpenApi = E2ETest;

HttpResult call(Daemon& d, const std::string& method, const std::string& path) {
  if (method == "GET") return d.get(path);
  if (method == "POST") return d.post(path, json::object());
  if (method == "DELETE") return d.del(path);
  if (method == "PUT") return d.request("PUT", path, d.api_key(), "{}", "application/json");
  throw std::runtime_error("no probe for method " + method);
}

bool is_no_route(const HttpResult& r) {
  return r.status == 404 && r.json().is_object() && r.json().value("error", "") == "not_found" &&
         r.json().value("message", "").rfind("no route for ", 0) == 0;
}

TEST_F(OpenApi, EveryDocumentedRouteIsServed) {
  const auto routes = test::openapi_routes(source_dir() + "/admin/openapi.yaml");
  ASSERT_GE(routes.size(), 15u);
  static const std::regex param(R"(\{\})");
  for (const auto& [method, pattern] : routes) {
    // Parameters get values that exist nowhere: the route must still be found (404 from the
    // route itself names the missing app or grant, not the route).
    std::string path = std::regex_replace(pattern, param, "nosuchthing");
    if (path.rfind("/v1/grants/", 0) == 0) path = std::regex_replace(pattern, param, "987654");
    if (path.rfind("/console/", 0) == 0) path = "/console/";
    if (path == "/oauth/callback") path += "?state=nosuchstate&code=x";
    auto r = call(daemon(), method, path);
    EXPECT_NE(r.status, 0) << method << " " << path << ": " << r.error;
    EXPECT_FALSE(is_no_route(r)) << method << " " << path << " is documented but not served: " << r.describe();
  }
}

TEST_F(OpenApi, UndocumentedRoutesAreNotFound) {
  const auto routes = test::openapi_routes(source_dir() + "/admin/openapi.yaml");
  const std::vector<std::pair<std::string, std::string>> probes{
      {"GET", "/v1/nothing"},           {"DELETE", "/v1/apps"},
      {"POST", "/v1/grants/1"},         {"GET", "/v1/apps/a/unknown"},
      {"PUT", "/v1/apps/a/grants"},     {"GET", "/v2/apps"},
      {"DELETE", "/v1/grants/1/token"}, {"GET", "/v1/apps/a/token/rejected"}};
  for (const auto& [method, path] : probes) {
    ASSERT_FALSE(routes.count(
        {method, test::normalize_path_params(std::regex_replace(path, std::regex("/(a|1)(/|$)"), "/{}$2"))}))
        << "probe " << method << " " << path << " is documented; pick another";
    auto r = call(daemon(), method, path);
    EXPECT_TRUE(is_no_route(r)) << method << " " << path << " is not documented but answered " << r.describe();
  }
}

}  // namespace
}  // namespace mediax::e2e
