// How a platform's failure on an admin's action (start connecting an account, recover a grant) is
// answered: one place for the status and code of each Outcome class. Pure; no I/O.
#pragma once

#include <string>

#include "core/types.hpp"
#include "service/api_error.hpp"

namespace mediax {

// The code a platform gives while it cannot fetch its own token because the platform has not sent
// what it needs yet (wechat_component: no component_verify_ticket pushed since registration).
inline constexpr const char* kWaitingForTicket = "waiting_for_ticket";

// Platform::prepare_authorize failed (app `app_name` of platform `platform`):
//  - retry_later / rate_limited: 503 "platform_unavailable" (retry_after_seconds when known), except
//    while the app waits for its first ticket (the platform code waiting_for_ticket, or
//    `waiting_for_ticket` set by the caller: the platform may only say its component token is
//    unavailable): 503 "waiting_for_ticket", saying where WeChat pushes it;
//  - app_misconfigured: 422 "app_misconfigured" with the platform's message (e.g. the IP to whitelist);
//  - anything else: 502 "platform_error".
// Details always carry platform_code and class. Never a code or token: Outcome messages hold none.
ApiError prepare_authorize_error(const Outcome& o, const std::string& platform, const std::string& app_name,
                                 bool waiting_for_ticket = false);

// Platform::recover_grant failed for grant `grant_id`:
//  - app_misconfigured with code "not_supported": 409 "not_supported" with the platform's message;
//  - needs_reauth: 422 "recovery_refused" (the account must be connected again);
//  - app_misconfigured: 422 "app_misconfigured";
//  - retry_later / rate_limited: 503 as for prepare_authorize_error.
ApiError recover_grant_error(const Outcome& o, const std::string& platform, const std::string& app_name,
                             std::int64_t grant_id, bool waiting_for_ticket = false);

}  // namespace mediax
