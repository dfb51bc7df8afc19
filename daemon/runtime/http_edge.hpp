// The daemon's HTTP edge: the route handlers (AdminHandlers), the Dispatcher (routes, API keys)
// and the one HttpServer, with admin.listen and admin.token_listen as its listeners. Behind a
// pointer: daemon.hpp needs neither Beast nor the handlers' headers.
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "config/config.hpp"
#include "http/admin_services.hpp"
#include "obs/metrics.hpp"
#include "util/time_source.hpp"

namespace mediax {

class ApiKeyRegistry;
class ComponentEventReceiver;

// What the handlers ask of the running daemon.
struct HttpEdgeHooks {
  std::function<bool()> ready;               // /readyz
  std::function<bool()> database_reachable;  // false: tokens from memory are marked stale
};

class HttpEdge {
 public:
  HttpEdge(const AdminServices& services, const AdminConfig& config, HttpEdgeHooks hooks, ApiKeyRegistry& keys,
           ComponentEventReceiver& component_events, const TimeSource& time, metrics::Registry& metrics);
  ~HttpEdge();
  HttpEdge(const HttpEdge&) = delete;
  HttpEdge& operator=(const HttpEdge&) = delete;

  // Binds admin.listen (TLS when a certificate is configured) and admin.token_listen when set;
  // returns their ports in that order. Throws std::runtime_error naming the key and the address.
  std::vector<int> listen();
  // Serves on the server's event loops and handler pool; returns at once.
  void start();
  // Closes the listeners and connections, lets answers in progress end. Idempotent.
  void stop();

 private:
  struct Parts;
  std::unique_ptr<Parts> parts_;
};

}  // namespace mediax
