// The [admin] keys as the HTTP server (http/http_server.hpp) takes them (and the [security] and
// [metrics] keys of its gate): its limits and threads,
// and its listeners (admin.listen, with TLS when a certificate is configured; admin.token_listen
// when set). The one place config turns into server settings.
#pragma once

#include <vector>

#include "config/config.hpp"
#include "http/http_server.hpp"
#include "runtime/http_edge.hpp"
#include "service/rejected_limits.hpp"

namespace mediax {

ServerLimits server_limits(const AdminConfig& admin);

// admin.listen first, then admin.token_listen when it is set.
std::vector<ListenerSpec> listener_specs(const AdminConfig& admin);

// [security] auth_failures_per_peer, auth_failure_window_seconds and metrics.require_key.
HttpEdgeGate edge_gate(const Config& config);
// [security] rejected_per_key_per_minute, rejected_per_token_per_minute.
RejectedLimitsConfig rejected_limits_config(const SecurityConfig& security);

}  // namespace mediax
