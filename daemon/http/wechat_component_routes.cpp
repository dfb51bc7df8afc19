#include "http/wechat_component_routes.hpp"

#include <spdlog/spdlog.h>

#include "service/component_events.hpp"

namespace mediax {

HttpResponse wechat_component_answer(ComponentEventReceiver* receiver, const std::string& app,
                                     const std::map<std::string, std::string>& query, const std::string& body) {
  ComponentEventAnswer a;
  if (receiver == nullptr) {
    a.status = 404;
    a.body = "unknown app";
  } else {
    try {
      a = receiver->handle(app, query, body, SysClock::now());
    } catch (const std::exception& e) {
      spdlog::error("wechat component event: internal error: {}", e.what());
      a.status = 500;
      a.body = "internal error";
    }
  }
  HttpResponse res;
  res.status = a.status;
  res.content_type = a.content_type;
  res.body = std::move(a.body);
  return res;
}

}  // namespace mediax
