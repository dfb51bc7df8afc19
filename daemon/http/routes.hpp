// The one route table of mediaxd's HTTP edge: method, path pattern, OpenAPI operationId, who may
// call it, whether the token listener serves it too, and its handler. Authorization
// (http/dispatcher.cpp), the token listener's routes and the OpenAPI check
// (tests/unit/test_openapi.cpp) all read this table; nothing else lists routes.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "http/message.hpp"

namespace mediax {

class AdminHandlers;

// Who may call a route.
enum class Access {
  open,     // anyone: health, the OAuth callback, WeChat's pushes (signed), the console's files
  reader,   // an API key of role reader or admin
  admin,    // an API key of role admin
  metrics,  // GET /metrics: open, or reader when metrics.require_key (http/auth.hpp required_access)
};
// A scoped reader key (service/api_key_scope.hpp) may call every Access::reader route: each such
// route's handler checks the token's app against HttpRequest::caller_apps (http/token_handlers.cpp).

// A route's handler: may block (database, platform calls), so the server runs it on its handler pool.
using RouteHandler = void (AdminHandlers::*)(const HttpRequest&, HttpResponse&);
// An answer from memory on the event loop, or nullopt when it needs the handler (which then runs on
// the pool). Must not block.
using FastRouteHandler = std::optional<HttpResponse> (AdminHandlers::*)(const HttpRequest&);

// How the audit trail (service/audit_trail.hpp) records a route's requests; the Dispatcher does it.
enum class AuditAs {
  action,   // a record written before the handler runs (it cannot be: 503 audit_unavailable and the
            // handler does not run), its result after. The default: a new route is audited strictly.
  counted,  // token reads: counted in memory per key, app, grant, result and minute (never blocks)
  none,     // open routes that change nothing and show nothing stored: health, metrics, the console's files
};

struct Route {
  std::string_view method;        // "GET", "POST", "PUT", "DELETE"; a GET route answers HEAD too
  std::string_view pattern;       // "/v1/apps/{name}/token": {x} is one segment; a last {x*} is the rest (maybe "")
  std::string_view operation_id;  // as in admin/openapi.yaml
  Access access = Access::admin;
  bool token_listener = false;  // also served on admin.token_listen
  RouteHandler handler = nullptr;
  FastRouteHandler fast = nullptr;  // optional
  AuditAs audit = AuditAs::action;
};

// Every route, in the order they are matched.
std::span<const Route> route_table();

struct RouteMatch {
  const Route* route = nullptr;     // null: no route for this method and path
  std::vector<std::string> params;  // the pattern's {x} segments (percent-decoded paths give decoded params)
  std::vector<std::string_view> other_methods;  // when route is null: methods that do match the path (for 405)
};

// The route for method and (decoded) path among `routes`; token_listener_only keeps only those
// flagged for the token listener. HEAD matches GET routes.
RouteMatch match_route(std::span<const Route> routes, std::string_view method, std::string_view path,
                       bool token_listener_only = false);

}  // namespace mediax
