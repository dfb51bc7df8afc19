// Onboarding beyond the browser callback (Grants::add_grant_from_code and import_grant, in
// grant_onboarding.cpp): how a platform's refusal or failure is answered. Pure.
#pragma once

#include <string>

#include "core/types.hpp"
#include "service/api_error.hpp"

namespace mediax {

enum class Onboarding { code, import };

// The API error for a failed code exchange or import refresh; the code and the refresh token
// are never in it (Outcome::message never holds one):
//  - needs_reauth: 422 code_refused / refresh_token_refused (a dead, used or foreign code; a
//    revoked or expired refresh token): asking again cannot help;
//  - app_misconfigured: 422 app_misconfigured (the app's credentials or permissions);
//  - rate_limited: 503 platform_rate_limited, with retry_after_seconds when the platform said;
//  - retry_later: 502 platform_error (timeouts, 5xx, "system busy").
// Every one carries platform_code and class, as the refresh routes' 502 does.
ApiError onboarding_error(const Outcome& o, const std::string& platform, Onboarding what);

}  // namespace mediax
