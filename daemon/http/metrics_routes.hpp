// GET /metrics: the metrics registry in the Prometheus text format 0.0.4, without
// authentication (it names platforms and counts, never apps' secrets or tokens).
#pragma once

#include "http/message.hpp"

namespace mediax {

namespace metrics {
class Registry;
}

// The registry rendered, or 500 with a comment line when rendering fails (logged).
HttpResponse metrics_answer(metrics::Registry& metrics);

}  // namespace mediax
