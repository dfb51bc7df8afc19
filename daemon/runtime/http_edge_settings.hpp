// The [admin] keys as the HTTP server (http/http_server.hpp) takes them: its limits and threads,
// and its listeners (admin.listen, with TLS when a certificate is configured; admin.token_listen
// when set). The one place config turns into server settings.
#pragma once

#include <vector>

#include "config/config.hpp"
#include "http/http_server.hpp"

namespace mediax {

ServerLimits server_limits(const AdminConfig& admin);

// admin.listen first, then admin.token_listen when it is set.
std::vector<ListenerSpec> listener_specs(const AdminConfig& admin);

}  // namespace mediax
