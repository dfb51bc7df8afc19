// Where a WeChat third-party platform app (wechat_component) stands with its
// component_verify_ticket: the one place the API's "waiting_for_ticket", the metric
// mediax_component_waiting_for_ticket and the event receiver read it from.
#pragma once

#include "core/types.hpp"

namespace mediax::component_status {

inline constexpr const char* kPlatform = "wechat_component";

// The code of the app token's last failure: last_error up to its first ": " ("" when none).
std::string last_error_code(const App& app);
// No ticket stored yet, or the app token's last attempt failed for want of one
// (waiting_for_ticket). False for apps of other platforms.
bool waiting_for_ticket(const App& app);
// The app token can only come with a new ticket: its last failure was waiting_for_ticket, or
// WeChat refused the ticket as expired or invalid (61005 / 61006). A new ticket fetches it at once.
bool blocked_on_ticket(const App& app);

}  // namespace mediax::component_status
