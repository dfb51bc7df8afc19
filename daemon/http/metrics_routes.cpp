#include "http/metrics_routes.hpp"

#include <httplib.h>
#include <spdlog/spdlog.h>

#include "obs/metrics.hpp"

namespace mediax {

void add_metrics_routes(httplib::Server& server, metrics::Registry& metrics) {
  server.Get("/metrics", [&metrics](const httplib::Request&, httplib::Response& res) {
    try {
      res.status = 200;
      res.set_content(metrics.render(), "text/plain; version=0.0.4; charset=utf-8");
    } catch (const std::exception& e) {
      spdlog::error("GET /metrics: {}", e.what());
      res.status = 500;
      res.set_content("# metrics unavailable; see the daemon's log\n", "text/plain; charset=utf-8");
    }
  });
}

}  // namespace mediax
