// The daemon's HTTP edge: the route handlers (AdminHandlers), the Dispatcher (routes, API keys)
// and the one HttpServer, with admin.listen and admin.token_listen as its listeners. Behind a
// pointer: daemon.hpp needs neither Beast nor the handlers' headers.
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "config/config.hpp"
#include "http/admin_services.hpp"
#include "http/auth_guard.hpp"
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

// What the Dispatcher's gate takes from [security] and [metrics] (http_edge_settings.hpp edge_gate).
struct HttpEdgeGate {
  AuthGuardConfig failures;       // security.auth_failures_per_peer, security.auth_failure_window_seconds
  bool metrics_need_key = false;  // metrics.require_key
};

class HttpEdge {
 public:
  HttpEdge(const AdminServices& services, const AdminConfig& config, HttpEdgeHooks hooks, ApiKeyRegistry& keys,
           ComponentEventReceiver& component_events, const TimeSource& time, metrics::Registry& metrics,
           const HttpEdgeGate& gate = {});
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
