#include "http/metrics_routes.hpp"

#include <spdlog/spdlog.h>

#include "obs/metrics.hpp"

namespace mediax {

HttpResponse metrics_answer(metrics::Registry& metrics) {
  HttpResponse res;
  try {
    res.body = metrics.render();
    res.content_type = "text/plain; version=0.0.4; charset=utf-8";
  } catch (const std::exception& e) {
    spdlog::error("GET /metrics: {}", e.what());
    res.status = 500;
    res.content_type = "text/plain; charset=utf-8";
    res.body = "# metrics unavailable; see the daemon's log\n";
  }
  return res;
}

}  // namespace mediax
