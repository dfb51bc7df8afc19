// GET /metrics: the metrics registry in the Prometheus text format 0.0.4, without
// authentication (it names platforms and counts, never apps' secrets or tokens).
#pragma once

namespace httplib {
class Server;
}

namespace mediax {

namespace metrics {
class Registry;
}

void add_metrics_routes(httplib::Server& server, metrics::Registry& metrics);

}  // namespace mediax
