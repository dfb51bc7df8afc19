// The connect flow, without HTTP: start an authorization (POST /v1/apps/{name}/authorize, GET
// .../connect), handle the platform's redirect (GET /oauth/callback), and connect an account from a
// code the platform pushed (WeChat third-party platform events). Thread-safe: called from the HTTP
// worker threads.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "config/config.hpp"
#include "util/time_source.hpp"
#include "core/types.hpp"
#include "platforms/platform.hpp"
#include "service/api_error.hpp"
#include "service/authorize_choices.hpp"
#include "store/interfaces.hpp"

namespace mediax {

class Grants;
class NewGrantStore;
class PlatformRegistry;

struct AuthorizeStart {
  std::string authorize_url;
  std::string state;
  TimePoint expires_at{};
};

// What the callback page says (http/ renders it).
struct CallbackResult {
  int status = 200;     // HTTP status of the page
  std::string title;    // "Connected" or what went wrong
  std::string message;  // details for the human in the browser
  std::string app_name;
  std::optional<Grant> grant;
};

class ConnectFlow {
 public:
  ConnectFlow(AdminStore& store, EventLog& events, PlatformRegistry& platforms, Grants& grants,
              NewGrantStore& new_grants, const Config& config, const TimeSource& time);

  // `choices`: POST /v1/apps/{name}/authorize's body (see service/authorize_choices.hpp): with a
  // grant_id, asks that grant's account again for its missing scopes (409 no_missing_scopes when it
  // lacks none); choices the platform cannot honour are 400.
  Expected<AuthorizeStart> start_authorization(const std::string& app_name, const AuthorizeChoices& choices = {});
  // Handles the platform's redirect (query parameters): the page to show, success or not.
  CallbackResult handle_callback(const std::map<std::string, std::string>& params);
  // An authorization code the platform pushed (WeChat third-party platform `authorized` /
  // `updateauthorized` events): exchanged now and stored as the callback stores a grant, `event`
  // ("grant_connected", "grant_updated") recorded. Upserts by account, so a code of an account
  // connected already updates its grant. 502 (details platform_code, class) when the platform
  // refuses or fails. A database failure stays a StoreError: the event receiver answers WeChat
  // 503 for it, apart from the platform's refusals.
  Expected<Grant> connect_with_code(const App& app, const std::string& code, const std::string& event);

 private:
  // The platform parameters for `choices` (a grant_id's missing scopes, account and include_granted_scopes).
  Expected<AuthorizeParams> authorize_params_for(const App& app, const AuthorizeChoices& choices);

  AdminStore& store_;
  EventLog& events_;
  PlatformRegistry& platforms_;
  Grants& grants_;
  NewGrantStore& new_grants_;
  const Config& config_;
  const TimeSource& time_;
};

}  // namespace mediax
