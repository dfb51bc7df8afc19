// POST /wechat/component/{app}/events: the WeChat third-party platform's event URL (授权事件接收URL).
// No API key: WeChat calls it and signs what it sends; service/component_events.hpp checks and
// acts on each push. Answers text/plain (`success` when taken).
#pragma once

#include <functional>

namespace httplib {
class Server;
}

namespace mediax {

class ComponentEventReceiver;

// `receiver()` is asked per request: null (the daemon has none) answers 404.
void add_wechat_component_routes(httplib::Server& server, std::function<ComponentEventReceiver*()> receiver);

}  // namespace mediax
