// The one rule that turns a platform's token answer into what is stored and served: used by the
// Refresher (schedule/refresher.cpp) for every refresh and by a newly connected grant
// (service/new_grant.cpp: the callback, a code from the creator's app, an import, a recovery).
// Pure: the time is given.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/types.hpp"
#include "schedule/refresh_policy.hpp"
#include "store/records.hpp"

namespace mediax {

// What was held before the answer came; the answer wins where it says something.
struct HeldBefore {
  std::int64_t app_id = 0;
  bool grant = false;                           // a grant's token (false: the app's own token)
  std::optional<std::int64_t> grant_id;         // empty for an app token and a grant not stored yet
  std::vector<std::string> scopes;              // kept when the answer names none
  std::optional<std::string> access_token;      // the token the answer replaces (TokenResult::same_until_expiry)
  std::optional<TimePoint> refresh_expires_at;  // the held refresh token's end
};

// From `answer`, received at `received`:
//  - token: the answer's access token and token_type, scopes (the answer's, else held),
//    expires_at = received + expires_in (else policy.lifetime_default());
//  - new_refresh_token: the answer's (a rotated one: the old may be dead already);
//  - refresh_expires_at: received + refresh_expires_in when the answer gives one (the store keeps
//    it only with a new refresh token);
//  - account_id (when the answer names one), grant_extra_patch (the answer's extra object);
//  - next_refresh_at: next_refresh_after(policy, ...);
//  - grants only: reauth_due_at = the refresh token's end after this answer when t.reauth_due,
//    last_error = the answer's warning ("code: message"; "" clears).
RefreshSuccess token_from_answer(const TokenResult& answer, TimePoint received, const HeldBefore& before,
                                 RefreshPolicy& policy);

}  // namespace mediax
