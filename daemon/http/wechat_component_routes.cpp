#include "http/wechat_component_routes.hpp"

#include <httplib.h>
#include <spdlog/spdlog.h>

#include "service/component_events.hpp"

namespace mediax {

void add_wechat_component_routes(httplib::Server& server, std::function<ComponentEventReceiver*()> receiver) {
  server.Post(R"(/wechat/component/([^/]+)/events)", [receiver](const httplib::Request& req, httplib::Response& res) {
    ComponentEventAnswer a;
    ComponentEventReceiver* r = receiver();
    if (r == nullptr) {
      a.status = 404;
      a.body = "unknown app";
    } else {
      std::map<std::string, std::string> query;
      for (const auto& [k, v] : req.params) query.emplace(k, v);
      try {
        a = r->handle(req.matches[1], query, req.body, SysClock::now());
      } catch (const std::exception& e) {
        spdlog::error("wechat component event: internal error: {}", e.what());
        a.status = 500;
        a.body = "internal error";
      }
    }
    res.status = a.status;
    res.set_content(a.body, a.content_type);
  });
}

}  // namespace mediax
