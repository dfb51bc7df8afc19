// The RequestHandler of the daemon: finds the route (http/routes.hpp), holds back a peer with too
// many failed authentications (http/auth_guard.hpp), checks the API key against the route's
// Access, and runs the handler: on the event loop when the route has a fast handler, the
// key is in memory and the answer needs nothing else; on the handler pool otherwise. Answers 404
// (and 405 on the token listener) for what no route serves, and turns any exception into the JSON
// error of http/answers.hpp. Logs each request at debug (method, path, status; never the query).
// With an AuditTrail, records each request to an audited route by the route's AuditAs: an action
// gets its record before the handler runs (none written: 503 audit_unavailable, the handler does
// not run) and its result after; a token read is counted in memory; a refused request is recorded.
#pragma once

#include "http/request_handler.hpp"
#include "http/routes.hpp"

namespace mediax {

class ApiKeyRegistry;
class AuthFailureGuard;

// What the Dispatcher asks of a key besides its Access.
struct GatePolicy {
  AuthFailureGuard* failures = nullptr;  // failed authentications per peer (http/auth_guard.hpp); null: none
  bool metrics_need_key = false;         // metrics.require_key
};
class AuditTrail;

class Dispatcher : public RequestHandler {
 public:
  // keys: null = no API keys required (tests); otherwise every route but Access::open needs one.
  Dispatcher(AdminHandlers& handlers, ApiKeyRegistry* keys, std::span<const Route> routes = route_table(),
             GatePolicy policy = {});

  // Before serving: the audit trail (outlives the dispatcher); none = nothing recorded (tests).
  void set_audit(AuditTrail* audit) { audit_ = audit; }

  std::optional<HttpResponse> answer_now(HttpRequest& req, ListenerKind where) override;
  HttpResponse answer(HttpRequest& req, ListenerKind where) override;

 private:
  AdminHandlers& handlers_;
  ApiKeyRegistry* keys_;
  std::span<const Route> routes_;
  GatePolicy policy_;
  AuditTrail* audit_ = nullptr;
};

}  // namespace mediax
