// What a platform's token answer makes of a newly connected grant, whichever way it came: the
// browser callback, a code the creator's own app obtained, or a refresh token taken over from
// another system. Pure: the time is given.
#pragma once

#include "core/types.hpp"
#include "schedule/refresh_policy.hpp"

namespace mediax {

struct NewGrant {
  Grant grant;  // to upsert: account, scopes, refresh token and its expiry, extra, next refresh
  Token token;  // its first access token
};

// `known` holds what the caller knew before the platform answered (an import's account,
// refresh token, refresh expiry and scopes; nothing for a code); the answer wins where it says
// something:
//  - account_id: the answer's, else known's, else "anonymous-<random>" (each connection its own grant);
//  - scopes: the answer's, else known's, else the app's;
//  - refresh_token: the answer's (a rotated one replaces the old, which the platform may have
//    invalidated already), else known's;
//  - refresh_expires_at: received + the answer's refresh_expires_in, else known's;
//  - next refresh by `policy` when there is a refresh token (none: the grant cannot be refreshed).
NewGrant new_grant_from(const App& app, const TokenResult& answer, TimePoint received, const Grant& known,
                        RefreshPolicy& policy);

}  // namespace mediax
