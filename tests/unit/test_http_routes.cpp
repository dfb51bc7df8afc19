// match_route (http/routes.hpp) on a small table of its own, and the daemon's table's own shape.
#include <gtest/gtest.h>

#include <set>

#include "http/routes.hpp"

namespace mediax {
namespace {

// clang-format off
constexpr Route kTable[] = {
  {"GET",    "/healthz",                  "getHealth",     Access::open,   true},
  {"GET",    "/v1/apps/{name}",           "getApp",        Access::admin,  false},
  {"DELETE", "/v1/apps/{name}",           "deleteApp",     Access::admin,  false},
  {"GET",    "/v1/apps/{name}/token",     "getAppToken",   Access::reader, true},
  {"POST",   "/v1/apps/{name}/token",     "postAppToken",  Access::admin,  false},
  {"GET",    "/v1/grants/{id}/token/{x}", "twoParams",     Access::reader, false},
  {"GET",    "/console",                  "console",       Access::open,   false},
  {"GET",    "/console/{path*}",          "consoleFile",   Access::open,   false},
};
// clang-format on

std::string_view id_of(const RouteMatch& m) { return m.route == nullptr ? "" : m.route->operation_id; }

TEST(MatchRoute, LiteralPathsMatchWholly) {
  EXPECT_EQ(id_of(match_route(kTable, "GET", "/healthz")), "getHealth");
  EXPECT_EQ(match_route(kTable, "GET", "/healthz/").route, nullptr);
  EXPECT_EQ(match_route(kTable, "GET", "/healthzx").route, nullptr);
  EXPECT_EQ(match_route(kTable, "GET", "/").route, nullptr);
  EXPECT_EQ(match_route(kTable, "GET", "").route, nullptr);
  EXPECT_EQ(match_route(kTable, "GET", "healthz").route, nullptr);
}

TEST(MatchRoute, ParametersAreOneNonEmptySegmentEach) {
  auto m = match_route(kTable, "GET", "/v1/apps/shop/token");
  EXPECT_EQ(id_of(m), "getAppToken");
  EXPECT_EQ(m.params, (std::vector<std::string>{"shop"}));
  m = match_route(kTable, "GET", "/v1/grants/7/token/abc");
  EXPECT_EQ(id_of(m), "twoParams");
  EXPECT_EQ(m.params, (std::vector<std::string>{"7", "abc"}));
  EXPECT_EQ(match_route(kTable, "GET", "/v1/apps//token").route, nullptr);
  EXPECT_EQ(match_route(kTable, "GET", "/v1/apps/").route, nullptr);
  EXPECT_EQ(match_route(kTable, "GET", "/v1/apps/a/b/token").route, nullptr);
  EXPECT_EQ(match_route(kTable, "GET", "/v1/apps/shop/token/").route, nullptr);
}

TEST(MatchRoute, ParametersAreTheDecodedPathsText) {
  // The server decodes the path before routing: "%20" and non-ASCII arrive as bytes.
  auto m = match_route(kTable, "GET", "/v1/apps/my shop\xC3\xA9/token");
  EXPECT_EQ(id_of(m), "getAppToken");
  EXPECT_EQ(m.params, (std::vector<std::string>{"my shop\xC3\xA9"}));
}

TEST(MatchRoute, AWildcardTakesTheRestIncludingNothing) {
  auto m = match_route(kTable, "GET", "/console/");
  EXPECT_EQ(id_of(m), "consoleFile");
  EXPECT_EQ(m.params, (std::vector<std::string>{""}));
  m = match_route(kTable, "GET", "/console/js/app.js");
  EXPECT_EQ(m.params, (std::vector<std::string>{"js/app.js"}));
  EXPECT_EQ(id_of(match_route(kTable, "GET", "/console")), "console");
  EXPECT_EQ(match_route(kTable, "GET", "/consolex").route, nullptr);
}

TEST(MatchRoute, HeadMatchesGetRoutes) {
  auto m = match_route(kTable, "HEAD", "/v1/apps/shop");
  EXPECT_EQ(id_of(m), "getApp");
  EXPECT_EQ(m.params, (std::vector<std::string>{"shop"}));
  EXPECT_EQ(match_route(kTable, "HEAD", "/v1/apps/shop/token").route->method, "GET");
}

TEST(MatchRoute, MethodsOfThePathAreListedWhenNoneMatches) {
  auto m = match_route(kTable, "PUT", "/v1/apps/shop");
  EXPECT_EQ(m.route, nullptr);
  EXPECT_EQ(m.other_methods, (std::vector<std::string_view>{"GET", "DELETE"}));
  EXPECT_TRUE(m.params.empty());
  m = match_route(kTable, "PUT", "/nothing/here");
  EXPECT_EQ(m.route, nullptr);
  EXPECT_TRUE(m.other_methods.empty());
  // A match leaves other_methods empty, even after routes of other methods were passed.
  EXPECT_TRUE(match_route(kTable, "DELETE", "/v1/apps/shop").other_methods.empty());
}

TEST(MatchRoute, TheTokenListenerSeesItsRoutesOnly) {
  EXPECT_EQ(id_of(match_route(kTable, "GET", "/v1/apps/shop/token", true)), "getAppToken");
  EXPECT_EQ(match_route(kTable, "GET", "/v1/apps/shop", true).route, nullptr);
  EXPECT_TRUE(match_route(kTable, "GET", "/v1/apps/shop", true).other_methods.empty());
  // POST .../token is an admin-listener route: on the token listener only GET is there.
  auto m = match_route(kTable, "POST", "/v1/apps/shop/token", true);
  EXPECT_EQ(m.route, nullptr);
  EXPECT_EQ(m.other_methods, (std::vector<std::string_view>{"GET"}));
}

TEST(RouteTable, EachMethodAndPathOnceWithAHandler) {
  std::set<std::pair<std::string_view, std::string_view>> seen;
  for (const auto& r : route_table()) {
    EXPECT_TRUE(seen.insert({r.method, r.pattern}).second) << r.method << " " << r.pattern;
    EXPECT_NE(r.handler, nullptr) << r.operation_id;
    EXPECT_FALSE(r.operation_id.empty()) << r.pattern;
  }
}

TEST(RouteTable, TheTokenListenerServesTokenReadsAndHealthOnly) {
  std::set<std::string_view> on_token;
  for (const auto& r : route_table()) {
    if (r.token_listener) on_token.insert(r.operation_id);
  }
  EXPECT_EQ(on_token, (std::set<std::string_view>{"getHealth", "getGrantToken", "getAppToken"}));
}

TEST(RouteTable, DaemonRoutesMatchTheirOwnPaths) {
  EXPECT_EQ(id_of(match_route(route_table(), "GET", "/v1/grants/12/token")), "getGrantToken");
  EXPECT_EQ(id_of(match_route(route_table(), "POST", "/v1/apps/a/grants/import")), "importGrant");
  EXPECT_EQ(id_of(match_route(route_table(), "POST", "/v1/apps/a/grants")), "addGrantFromCode");
  EXPECT_EQ(id_of(match_route(route_table(), "POST", "/wechat/component/a/events")), "receiveWechatComponentEvent");
  EXPECT_EQ(match_route(route_table(), "DELETE", "/v1/grants/1/token").other_methods,
            (std::vector<std::string_view>{"GET"}));
}

}  // namespace
}  // namespace mediax
