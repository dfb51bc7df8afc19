#include "service/component_status.hpp"

namespace mediax::component_status {

std::string last_error_code(const App& app) {
  // The store keeps "code: message" (or either alone).
  const auto colon = app.last_error.find(": ");
  return colon == std::string::npos ? app.last_error : app.last_error.substr(0, colon);
}

bool waiting_for_ticket(const App& app) {
  if (app.platform != kPlatform) return false;
  return !app.component_ticket_at || last_error_code(app) == "waiting_for_ticket";
}

bool blocked_on_ticket(const App& app) {
  if (app.platform != kPlatform) return false;
  const auto code = last_error_code(app);
  return code == "waiting_for_ticket" || code == "61005" || code == "61006";
}

}  // namespace mediax::component_status
