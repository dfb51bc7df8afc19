// The connect flow and grants, without HTTP: run the authorization code flow, store and manage
// grants (apps: service/apps.hpp; token reads: service/token_reads.hpp, both returning
// Expected<T>). Still throws ApiError for anything the caller got wrong or the platform refused.
// Thread-safe: called from the HTTP worker threads.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/config.hpp"
#include "core/time_source.hpp"
#include "platforms/platform.hpp"
#include "schedule/refresher.hpp"
#include "service/authorize_choices.hpp"
#include "service/api_error.hpp"
#include "service/apps.hpp"
#include "schedule/token_cache.hpp"
#include "store/store.hpp"

namespace mediax {

class Platform;
class PlatformRegistry;
class Scheduler;

struct AuthorizeStart {
  std::string authorize_url;
  std::string state;
  TimePoint expires_at{};
};

// A grant stored by POST /v1/apps/{name}/grants or .../grants/import.
struct GrantAdded {
  Grant grant;           // as GET /v1/grants/{id} shows it (no refresh token)
  bool created = false;  // false: the account was connected already and its grant was replaced
};

struct CallbackResult {
  int status = 200;        // HTTP status of the page
  std::string title;       // "Connected" or what went wrong
  std::string message;     // details for the human in the browser
  std::string app_name;
  std::optional<Grant> grant;
};

class TokenService {
 public:
  TokenService(Store& store, PlatformRegistry& platforms, TokenCache& cache, Apps& apps, Scheduler& scheduler,
               RefreshPolicy& policy, const Config& config, const TimeSource& clock);

  // `choices`: POST /v1/apps/{name}/authorize's body (see service/authorize_choices.hpp): with a
  // grant_id, asks that grant's account again for its missing scopes (ApiError 409
  // no_missing_scopes when it lacks none); choices the platform cannot honour are ApiError 400.
  AuthorizeStart start_authorization(const std::string& app_name, const AuthorizeChoices& choices = {});
  // Handles the platform's redirect (query parameters). Never throws.
  CallbackResult handle_callback(const std::map<std::string, std::string>& params);

  // POST /v1/apps/{name}/grants {"code", "redirect_uri"?, "code_verifier"?}: exchanges a code the
  // creator's own app obtained (Douyin mobile/H5 SDK, WeChat app login, an app doing its own PKCE)
  // and stores the grant as the callback does. Platform refusals ApiError 422, failures 502/503.
  GrantAdded add_grant_from_code(const std::string& app_name, const nlohmann::json& body);
  // POST /v1/apps/{name}/grants/import {"account_id", "refresh_token", "refresh_expires_at"?,
  // "scopes"?}: refreshes at once to prove the token works, then stores the grant with what the
  // platform answered (a rotated refresh token replaces the imported one). Nothing is stored
  // when the platform refuses (422) or fails (502/503).
  GrantAdded import_grant(const std::string& app_name, const nlohmann::json& body);

  // An authorization code the platform pushed (WeChat third-party platform `authorized` /
  // `updateauthorized` events): exchanged now and stored as the callback stores a grant, `event`
  // ("grant_connected", "grant_updated") recorded. Upserts by account, so a code of an account
  // connected already updates its grant. ApiError 502 (details platform_code, class) when the
  // platform refuses or fails; StoreError when the database does.
  Grant connect_with_code(const App& app, const std::string& code, const std::string& event);
  // POST /v1/grants/{id}/recover: gets a grant whose refresh token is lost or refused going again
  // without the account's owner (Platform::recover_grant; WeChat third-party platform:
  // api_get_authorizer_info) and stores the answer as the callback does (event grant_recovered).
  // Returns the grant (as GET /v1/grants/{id}). ApiError 404 no grant, 409 revoked or not_supported,
  // 422 the platform refused, 503/502 it failed (service/platform_call_errors.hpp).
  Grant recover_grant(std::int64_t id);

  std::vector<Grant> list_grants(const std::string& app_name);
  Grant get_grant(std::int64_t id);
  // Revokes at the platform when it can, then marks the grant revoked and drops its token.
  // Returns "ok", "not_supported" or "failed".
  std::string revoke_grant(std::int64_t id);

  const Config& config() const { return config_; }

 private:
  // Whether the app's own token waits for the first component_verify_ticket, read again now
  // (component_status::waiting_for_ticket): a platform that needs it may only say its token is
  // unavailable. False when unreadable.
  bool app_waits_for_ticket(const std::string& app_name);
  // The platform parameters for `choices` (a grant_id's missing scopes, account and include_granted_scopes).
  AuthorizeParams authorize_params_for(const App& app, const AuthorizeChoices& choices);
  // The app with its client secret and its platform; ApiError 404/503/500 otherwise.
  std::pair<App, Platform*> app_for_platform_call(const std::string& app_name);
  // Stores a grant newly connected from a platform's token answer (service/new_grant.hpp: `known`
  // is what the caller knew before it), puts its first token in memory, schedules its refresh and
  // records `event` with `detail` (plus account_id). The one way every connected grant is stored.
  // Throws StoreError when the database fails even after a short retry.
  Grant store_new_grant(const App& app, const TokenResult& answer, TimePoint received, const Grant& known,
                        const std::string& event, nlohmann::json detail);
  void record_event(std::optional<std::int64_t> app_id, std::optional<std::int64_t> grant_id, const std::string& kind,
                    nlohmann::json detail);

  Store& store_;
  PlatformRegistry& platforms_;
  TokenCache& cache_;
  Apps& apps_;
  Scheduler& scheduler_;
  RefreshPolicy& policy_;
  const Config& config_;
  const TimeSource& clock_;
};

// Names of apps: [a-z0-9][a-z0-9_-]{0,62}
bool valid_app_name(const std::string& name);

}  // namespace mediax
