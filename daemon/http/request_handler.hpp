// What the HTTP server (http/http_server.hpp) asks of whatever answers requests: the Dispatcher
// (routes, authorization) in the daemon, simpler handlers in the server's own tests.
#pragma once

#include <optional>

#include "http/message.hpp"

namespace mediax {

// Which listener a request came in on.
enum class ListenerKind {
  admin,  // admin.listen: every route
  token,  // admin.token_listen: the routes flagged token_listener (http/routes.hpp)
};

class RequestHandler {
 public:
  virtual ~RequestHandler() = default;
  // Called on an event-loop thread: the answer when it needs neither the database nor a platform
  // (a token in memory, a key already loaded, a refusal), else nullopt and answer() is called on the
  // handler pool. Must not block; never throws.
  virtual std::optional<HttpResponse> answer_now(HttpRequest& req, ListenerKind where) = 0;
  // Called on a handler-pool thread; may block; never throws.
  virtual HttpResponse answer(HttpRequest& req, ListenerKind where) = 0;
};

}  // namespace mediax
