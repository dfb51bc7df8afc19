// AdminHandlers: construction, health, readiness, metrics, the console's files and WeChat's event
// pushes. The API's areas are in app_handlers.cpp, connect_handlers.cpp, grant_handlers.cpp and
// token_handlers.cpp.
#include "http/admin_handlers.hpp"

#include <spdlog/spdlog.h>

#include "http/console_routes.hpp"
#include "http/metrics_routes.hpp"
#include "http/wechat_component_routes.hpp"

namespace mediax {

AdminHandlers::AdminHandlers(const AdminServices& services, const AdminConfig& config, std::function<bool()> ready,
                             metrics::Registry& metrics, std::string console_dir)
    : apps_(services.apps),
      connect_(services.connect),
      grants_(services.grants),
      reads_(services.reads),
      audit_(services.audit),
      config_(config),
      ready_(std::move(ready)),
      metrics_(metrics),
      console_dir_(console_dir.empty() ? find_console_dir() : std::move(console_dir)) {
  spdlog::debug("web console files from {}", console_dir_);
}

void AdminHandlers::set_database_reachable(std::function<bool()> reachable) {
  database_reachable_ = std::move(reachable);
}

void AdminHandlers::set_component_events(ComponentEventReceiver& receiver) { component_events_ = &receiver; }

void AdminHandlers::healthz(const HttpRequest& req, HttpResponse& res) { res = *healthz_now(req); }

std::optional<HttpResponse> AdminHandlers::healthz_now(const HttpRequest&) {
  HttpResponse res;
  res.json(200, {{"status", "ok"}});
  return res;
}

void AdminHandlers::readyz(const HttpRequest&, HttpResponse& res) {
  bool ok = false;
  try {
    ok = ready_ && ready_();
  } catch (const std::exception&) {
    ok = false;
  }
  res.json(ok ? 200 : 503, {{"status", ok ? "ready" : "not_ready"}});
}

void AdminHandlers::metrics(const HttpRequest&, HttpResponse& res) { res = metrics_answer(metrics_); }

void AdminHandlers::console_redirect(const HttpRequest&, HttpResponse& res) { res = console_redirect_answer(); }

void AdminHandlers::console_file(const HttpRequest& req, HttpResponse& res) {
  res = console_answer(console_dir_, req.path);
}

void AdminHandlers::wechat_component_event(const HttpRequest& req, HttpResponse& res) {
  res = wechat_component_answer(component_events_.load(), req.params.at(0), req.query_params(), req.body);
}

}  // namespace mediax
