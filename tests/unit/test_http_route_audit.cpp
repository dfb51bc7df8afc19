// How each route is audited (http/routes.hpp AuditAs, http/route_audit.hpp): by the route's
// properties, so a new route is audited as an action unless marked; what a record takes from a
// request (never the query, body or headers).
#include <gtest/gtest.h>

#include "http/route_audit.hpp"
#include "http/routes.hpp"

namespace mediax {
namespace {

const Route& route(std::string_view operation_id) {
  for (const auto& r : route_table()) {
    if (r.operation_id == operation_id) return r;
  }
  throw std::runtime_error("no route " + std::string(operation_id));
}

TEST(RouteAudit, EveryRouteThatChangesOrShowsStoredStateIsAnAction) {
  for (const auto& r : route_table()) {
    SCOPED_TRACE(std::string(r.operation_id));
    if (r.method != "GET") {
      EXPECT_EQ(r.audit, AuditAs::action) << "every route that may change state";
    }
    if (r.access == Access::admin) {
      EXPECT_EQ(r.audit, AuditAs::action) << "every admin route, reads too";
    }
    if (r.audit == AuditAs::none) {
      // Access::metrics is open unless metrics.require_key.
      EXPECT_TRUE(r.access == Access::open || r.access == Access::metrics) << "only open routes go unaudited";
    }
    if (r.audit == AuditAs::counted) {
      EXPECT_EQ(r.method, "GET");
      EXPECT_NE(r.access, Access::open);
    }
  }
  EXPECT_EQ(route("oauthCallback").audit, AuditAs::action) << "an open GET that connects an account";
  EXPECT_EQ(route("receiveWechatComponentEvent").audit, AuditAs::action);
  EXPECT_EQ(route("getGrantToken").audit, AuditAs::counted);
  EXPECT_EQ(route("getAppToken").audit, AuditAs::counted);
  EXPECT_EQ(route("getHealth").audit, AuditAs::none);
  EXPECT_EQ(Route{}.audit, AuditAs::action) << "a route added without a mark is an action";
}

TEST(RouteAudit, ARecordNamesTheAppAndGrantOfThePathAndNothingElse) {
  HttpRequest req;
  req.method = "POST";
  req.path = "/v1/apps/shop/grants";
  req.query = "code=the-code&state=the-state";
  req.body = R"({"code":"the-code"})";
  req.headers.emplace_back("Authorization", "Bearer mxk_secret");
  req.params = {"shop"};
  req.caller = "ops";
  req.peer = "203.0.113.5";
  const auto e = audit_entry_of(route("addGrantFromCode"), req);
  EXPECT_EQ(e.who, "ops");
  EXPECT_EQ(e.what, "addGrantFromCode");
  EXPECT_EQ(e.app, "shop");
  EXPECT_EQ(e.grant, "");
  EXPECT_EQ(e.peer, "203.0.113.5");
  EXPECT_EQ(e.result, "");

  req.params = {"17"};
  const auto g = audit_entry_of(route("revokeGrant"), req);
  EXPECT_EQ(g.grant, "17");
  EXPECT_EQ(g.app, "");

  req.params = {"pub"};
  EXPECT_EQ(audit_entry_of(route("receiveWechatComponentEvent"), req).app, "pub") << "{app}";
  req.params = {};
  EXPECT_EQ(audit_entry_of(route("oauthCallback"), req).app, "") << "the state in the query is not read";
}

TEST(RouteAudit, LongValuesAreCut) {
  HttpRequest req;
  req.params = {std::string(5000, 'a')};
  const auto e = audit_entry_of(route("getApp"), req);
  EXPECT_LE(e.app.size(), kAuditFieldMax + 3);
  EXPECT_EQ(e.app.substr(0, 10), "aaaaaaaaaa");
}

// A percent-decoded path may carry any bytes (GET /v1/apps/%FF%FE); the record keeps text the
// database takes, or the request would be refused for want of its record.
TEST(RouteAudit, BytesThatAreNotTextAreReplaced) {
  HttpRequest req;
  req.params = {std::string("\xFF\xFE" "a\0", 4)};
  EXPECT_EQ(audit_entry_of(route("getApp"), req).app, "\xEF\xBF\xBD\xEF\xBF\xBD" "a\xEF\xBF\xBD");
  req.params = {"\xC3\x28"};
  EXPECT_EQ(audit_entry_of(route("revokeGrant"), req).grant, "\xEF\xBF\xBD(");
}

}  // namespace
}  // namespace mediax
