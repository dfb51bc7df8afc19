#include "runtime/http_edge.hpp"

#include "http/admin_handlers.hpp"
#include "http/dispatcher.hpp"
#include "http/http_server.hpp"
#include "runtime/http_edge_settings.hpp"

namespace mediax {

// Built in the order they use each other; the server is stopped before the rest goes.
struct HttpEdge::Parts {
  Parts(const AdminServices& services, const AdminConfig& admin, HttpEdgeHooks hooks, ApiKeyRegistry& keys,
        const TimeSource& time, metrics::Registry& metrics, const HttpEdgeGate& gate)
      : config(admin),
        failures(gate.failures, time, &metrics),
        handlers(services, admin, std::move(hooks.ready), metrics),
        dispatcher(handlers, &keys, route_table(), GatePolicy{&failures, gate.metrics_need_key}),
        server(dispatcher, server_limits(admin), time, metrics) {}

  const AdminConfig config;
  AuthFailureGuard failures;
  AdminHandlers handlers;
  Dispatcher dispatcher;
  HttpServer server;
};

HttpEdge::HttpEdge(const AdminServices& services, const AdminConfig& config, HttpEdgeHooks hooks, ApiKeyRegistry& keys,
                   ComponentEventReceiver& component_events, const TimeSource& time, metrics::Registry& metrics,
                   const HttpEdgeGate& gate) {
  auto reachable = std::move(hooks.database_reachable);
  parts_ = std::make_unique<Parts>(services, config, std::move(hooks), keys, time, metrics, gate);
  parts_->handlers.set_component_events(component_events);
  parts_->dispatcher.set_audit(services.audit);
  parts_->handlers.set_database_reachable(std::move(reachable));
}

HttpEdge::~HttpEdge() { stop(); }

std::vector<int> HttpEdge::listen() {
  std::vector<int> ports;
  for (const auto& spec : listener_specs(parts_->config)) {
    ports.push_back(parts_->server.port(parts_->server.add_listener(spec)));
  }
  return ports;
}

void HttpEdge::start() { parts_->server.start(); }

void HttpEdge::stop() { parts_->server.stop(); }

}  // namespace mediax
