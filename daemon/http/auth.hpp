// Bearer API key authentication by the route's Access (http/routes.hpp): the decisions as pure
// functions of the route match, the listener and the key's match, for the Dispatcher
// (http/dispatcher.hpp).
#pragma once

#include <exception>
#include <optional>
#include <string>

#include "http/request_handler.hpp"
#include "http/routes.hpp"

namespace mediax {

class ApiKeyRegistry;

// What the route match alone decides, before any key is looked at.
enum class Gate {
  open,                // Access::open: no key needed
  key,                 // a key of required_access(route) is needed
  not_served,          // token listener: no route of its own has this path (404 naming admin.listen)
  method_not_allowed,  // token listener: the path is served, by other methods (405 with Allow)
};
// On the admin listener a request no route serves needs a key too: without one it is 401, with a
// reader key 403, and only an admin key learns that there is no such route (404).
// metrics_need_key: metrics.require_key (Access::metrics is then reader, else open).
Gate gate_of(const RouteMatch& m, ListenerKind where, bool metrics_need_key = false);
// The Access a request needs: its route's; Access::admin when no route serves it; Access::metrics
// as reader when metrics_need_key, else open (never Access::metrics itself).
Access required_access(const Route* route, bool metrics_need_key = false);
// The key of an "Authorization: Bearer <key>" header value; "" when it is not one.
std::string bearer_key(const std::string& authorization);

struct ApiKeyMatch;

// Why a request is refused: HTTP status (401, 403 or 503), error code and message.
struct AuthRefusal {
  int status = 0;
  std::string code;
  std::string message;
  // The WWW-Authenticate value a 401 carries; "" otherwise.
  std::string www_authenticate() const;
};

// The refusals, each logged (route and key name, never the key).
AuthRefusal refuse_no_key(const std::string& method, const std::string& path);
AuthRefusal refuse_unchecked(const std::string& method, const std::string& path, const std::exception& e);
// nullopt: key m may call a route that needs `required` (a reader key: Access::reader only).
std::optional<AuthRefusal> refuse_match(const std::string& method, const std::string& path, Access required,
                                        const ApiKeyMatch& m);

}  // namespace mediax
