#include "runtime/http_edge_settings.hpp"

namespace mediax {

ServerLimits server_limits(const AdminConfig& admin) {
  ServerLimits limits;
  limits.header_timeout = std::chrono::seconds(admin.header_timeout_seconds);
  limits.body_timeout = std::chrono::seconds(admin.body_timeout_seconds);
  limits.idle_timeout = std::chrono::seconds(admin.idle_timeout_seconds);
  limits.event_threads = admin.event_threads;
  limits.handler_threads = admin.threads;
  return limits;  // write_timeout and max_head_bytes: the server's defaults (not configurable)
}

std::vector<ListenerSpec> listener_specs(const AdminConfig& admin) {
  std::vector<ListenerSpec> specs;
  ListenerSpec api;
  api.config_key = "admin.listen";
  api.address = admin.listen;
  api.kind = ListenerKind::admin;
  api.tls_cert_file = admin.tls_cert_file;  // the config accepts both or neither
  api.tls_key_file = admin.tls_key_file;
  api.max_body_bytes = admin.max_body_bytes;
  api.max_connections = static_cast<std::size_t>(admin.max_connections);
  specs.push_back(api);
  if (!admin.token_listen.empty()) {
    ListenerSpec token;
    token.config_key = "admin.token_listen";
    token.address = admin.token_listen;
    token.kind = ListenerKind::token;  // plain HTTP always (the config keeps it on loopback beside TLS)
    token.max_body_bytes = admin.max_body_bytes;
    token.max_connections = static_cast<std::size_t>(admin.max_connections);
    specs.push_back(token);
  }
  return specs;
}

HttpEdgeGate edge_gate(const Config& config) {
  HttpEdgeGate gate;
  gate.failures.failures_per_peer = static_cast<int>(config.security.auth_failures_per_peer);
  gate.failures.window = std::chrono::seconds(config.security.auth_failure_window_seconds);
  gate.metrics_need_key = config.metrics.require_key;
  return gate;
}

RejectedLimitsConfig rejected_limits_config(const SecurityConfig& security) {
  return RejectedLimitsConfig{static_cast<int>(security.rejected_per_key_per_minute),
                              static_cast<int>(security.rejected_per_token_per_minute)};
}

}  // namespace mediax
