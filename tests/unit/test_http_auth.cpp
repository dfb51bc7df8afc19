// The authorization decisions of the Dispatcher (http/auth.hpp) on a table of routes: what the
// route match decides before a key is read, and what a key's match then decides.
#include <gtest/gtest.h>

#include <stdexcept>

#include "http/auth.hpp"
#include "service/api_keys.hpp"

namespace mediax {
namespace {

// clang-format off
constexpr Route kTable[] = {
  {"GET",  "/healthz",              "getHealth",    Access::open,   true},
  {"GET",  "/v1/apps",              "listApps",     Access::admin,  false},
  {"GET",  "/v1/apps/{name}/token", "getAppToken",  Access::reader, true},
  {"POST", "/v1/apps/{name}/token/rejected", "reportRejected", Access::reader, false},
  {"GET",  "/metrics",              "getMetrics",   Access::metrics, false},
};
// clang-format on

Gate gate(const char* method, const char* path, ListenerKind where) {
  return gate_of(match_route(kTable, method, path, where == ListenerKind::token), where);
}

TEST(AuthGate, OpenRoutesNeedNoKeyOnEitherListener) {
  EXPECT_EQ(gate("GET", "/healthz", ListenerKind::admin), Gate::open);
  EXPECT_EQ(gate("HEAD", "/healthz", ListenerKind::admin), Gate::open);
  EXPECT_EQ(gate("GET", "/healthz", ListenerKind::token), Gate::open);
}

TEST(AuthGate, TheAdminListenerAsksForAKeyBeforeSayingThereIsNoRoute) {
  EXPECT_EQ(gate("GET", "/v1/apps", ListenerKind::admin), Gate::key);
  EXPECT_EQ(gate("GET", "/v1/apps/a/token", ListenerKind::admin), Gate::key);
  EXPECT_EQ(gate("GET", "/nothing", ListenerKind::admin), Gate::key);
  EXPECT_EQ(gate("POST", "/healthz", ListenerKind::admin), Gate::key);  // 404 "no route for", after the key
  EXPECT_EQ(required_access(nullptr), Access::admin);
}

TEST(AuthGate, MetricsAreOpenUnlessMetricsRequireKeyThenAReaderKeyWillDo) {
  const auto m = match_route(kTable, "GET", "/metrics");
  EXPECT_EQ(gate_of(m, ListenerKind::admin), Gate::open);
  EXPECT_EQ(required_access(m.route), Access::open);
  EXPECT_EQ(gate_of(m, ListenerKind::admin, true), Gate::key);
  EXPECT_EQ(required_access(m.route, true), Access::reader);
  EXPECT_FALSE(refuse_match("GET", "/metrics", required_access(m.route, true),
                            ApiKeyMatch{ApiKeyMatch::Kind::ok, "dash", ApiRole::reader, {"crm"}}))
      << "a reader key, scoped or not, may read the metrics";
  // Other routes are as they were.
  EXPECT_EQ(gate_of(match_route(kTable, "GET", "/healthz"), ListenerKind::admin, true), Gate::open);
  EXPECT_EQ(required_access(match_route(kTable, "GET", "/v1/apps").route, true), Access::admin);
}

TEST(AuthGate, TheTokenListenerAnswers404And405BeforeTheKey) {
  EXPECT_EQ(gate("GET", "/v1/apps", ListenerKind::token), Gate::not_served);
  EXPECT_EQ(gate("GET", "/nothing", ListenerKind::token), Gate::not_served);
  EXPECT_EQ(gate("POST", "/v1/apps/a/token/rejected", ListenerKind::token), Gate::not_served);
  EXPECT_EQ(gate("POST", "/v1/apps/a/token", ListenerKind::token), Gate::method_not_allowed);
  EXPECT_EQ(gate("DELETE", "/healthz", ListenerKind::token), Gate::method_not_allowed);
  EXPECT_EQ(gate("GET", "/v1/apps/a/token", ListenerKind::token), Gate::key);
  EXPECT_EQ(gate("HEAD", "/v1/apps/a/token", ListenerKind::token), Gate::key);
}

ApiKeyMatch key(ApiKeyMatch::Kind kind, ApiRole role = ApiRole::admin) {
  ApiKeyMatch m;
  m.kind = kind;
  m.name = "ci";
  m.role = role;
  return m;
}

TEST(AuthKey, AdminKeysMayCallEveryRoute) {
  for (const Access a : {Access::open, Access::reader, Access::admin}) {
    EXPECT_FALSE(refuse_match("GET", "/x", a, key(ApiKeyMatch::Kind::ok, ApiRole::admin)));
  }
}

TEST(AuthKey, ReaderKeysMayCallReaderRoutesOnly) {
  const auto reader = key(ApiKeyMatch::Kind::ok, ApiRole::reader);
  EXPECT_FALSE(refuse_match("GET", "/v1/apps/a/token", Access::reader, reader));
  const auto refused = refuse_match("GET", "/v1/apps", Access::admin, reader);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 403);
  EXPECT_EQ(refused->code, "forbidden");
  EXPECT_EQ(refused->www_authenticate(), "");
}

TEST(AuthKey, UnknownAndRevokedKeysAre401InvalidToken) {
  for (const auto kind : {ApiKeyMatch::Kind::unknown, ApiKeyMatch::Kind::revoked}) {
    const auto refused = refuse_match("GET", "/healthz", Access::reader, key(kind));
    ASSERT_TRUE(refused);
    EXPECT_EQ(refused->status, 401);
    EXPECT_EQ(refused->code, "invalid_token");
    EXPECT_EQ(refused->www_authenticate(), "Bearer realm=\"mediaxd\", error=\"invalid_token\"");
  }
}

TEST(AuthKey, NoKeyIs401AndAnUncheckableKey503) {
  const auto none = refuse_no_key("GET", "/v1/apps");
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(none.www_authenticate(), "Bearer realm=\"mediaxd\"");
  const auto unchecked = refuse_unchecked("GET", "/v1/apps", std::runtime_error("store down"));
  EXPECT_EQ(unchecked.status, 503);
  EXPECT_EQ(unchecked.www_authenticate(), "");
}

}  // namespace
}  // namespace mediax
