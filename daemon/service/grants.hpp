// Grants: list, read and revoke them; connect one from a code the creator's own app obtained or a
// refresh token taken over from another system (grant_onboarding.cpp); get one going again by the
// platform's recovery call (grant_recovery.cpp). Every call returns its value or the ApiError to
// answer. Thread-safe: called from the HTTP worker threads.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "util/time_source.hpp"
#include "core/types.hpp"
#include "service/api_error.hpp"
#include "store/interfaces.hpp"

namespace mediax {

class Apps;
class NewGrantStore;
class PlatformRegistry;
class Scheduler;
class TokenCache;

// A grant stored by POST /v1/apps/{name}/grants or .../grants/import.
struct GrantAdded {
  Grant grant;           // as GET /v1/grants/{id} shows it (no refresh token)
  bool created = false;  // false: the account was connected already and its grant was replaced
};

class Grants {
 public:
  Grants(AdminStore& store, EventLog& events, PlatformRegistry& platforms, TokenCache& cache, Scheduler& scheduler,
         Apps& apps, NewGrantStore& new_grants, const TimeSource& time);

  // 404 when there is no such app.
  Expected<std::vector<Grant>> list_grants(const std::string& app_name);
  // Without its refresh token; 404 not_found.
  Expected<Grant> get_grant(std::int64_t id);
  // Revokes at the platform when it can, then marks the grant revoked and drops its token.
  // Returns "ok", "not_supported" or "failed" (the platform's part).
  Expected<std::string> revoke_grant(std::int64_t id);

  // POST /v1/apps/{name}/grants {"code", "redirect_uri"?, "code_verifier"?}: exchanges a code the
  // creator's own app obtained (Douyin mobile/H5 SDK, WeChat app login, an app doing its own PKCE)
  // and stores the grant as the callback does. Platform refusals 422, failures 502/503.
  Expected<GrantAdded> add_grant_from_code(const std::string& app_name, const nlohmann::json& body);
  // POST /v1/apps/{name}/grants/import {"account_id", "refresh_token", "refresh_expires_at"?,
  // "scopes"?}: refreshes at once to prove the token works, then stores the grant with what the
  // platform answered (a rotated refresh token replaces the imported one). Nothing is stored
  // when the platform refuses (422) or fails (502/503).
  Expected<GrantAdded> import_grant(const std::string& app_name, const nlohmann::json& body);
  // POST /v1/grants/{id}/recover: gets a grant whose refresh token is lost or refused going again
  // without the account's owner (Platform::recover_grant; WeChat third-party platform:
  // api_get_authorizer_info) and stores the answer as the callback does (event grant_recovered).
  // Returns the grant (as GET /v1/grants/{id}). 404 no grant, 409 revoked or not_supported,
  // 422 the platform refused, 503/502 it failed (service/platform_call_errors.hpp).
  Expected<Grant> recover_grant(std::int64_t id);

 private:
  AdminStore& store_;
  EventLog& events_;
  PlatformRegistry& platforms_;
  TokenCache& cache_;
  Scheduler& scheduler_;
  Apps& apps_;
  NewGrantStore& new_grants_;
  const TimeSource& time_;
};

}  // namespace mediax
