// POST /wechat/component/{app}/events: the WeChat third-party platform's event URL (授权事件接收URL).
// No API key: WeChat calls it and signs what it sends; service/component_events.hpp checks and
// acts on each push. Answers text/plain (`success` when taken).
#pragma once

#include <map>
#include <string>

#include "http/message.hpp"

namespace mediax {

class ComponentEventReceiver;

// A push for app `app` answered by `receiver` (null: 404 "unknown app"; an exception: 500, logged).
HttpResponse wechat_component_answer(ComponentEventReceiver* receiver, const std::string& app,
                                     const std::map<std::string, std::string>& query, const std::string& body);

}  // namespace mediax
