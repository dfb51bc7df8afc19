// The connect flow, without HTTP: hand out a one-time connect link (POST /v1/apps/{name}/authorize,
// GET .../connect), open it in a browser (GET /connect/start: the state, bound to that browser's
// cookie, and the platform's URL), handle the platform's redirect (GET /oauth/callback/{app}), and
// connect an account from a code the platform pushed (WeChat third-party platform events). The
// rules binding a flow to its browser, app and issuer: service/connect_checks.hpp. Thread-safe:
// called from the HTTP worker threads.
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

// A one-time link to {public_url}/connect/start?ticket=…: whoever opens it first runs the flow.
struct ConnectLink {
  std::string url;
  TimePoint expires_at{};
};

// What GET /connect/start answers: a redirect to the platform setting the browser's cookie, or
// (status != 302) a page saying why not.
struct ConnectStart {
  int status = 302;
  std::string authorize_url;  // with 302
  std::string cookie;         // with 302: the __Host-mediax_connect value
  Seconds cookie_max_age{0};  // as long as the state lives
  std::string title;          // the page otherwise
  std::string message;
};

// The platform's redirect as it reached the daemon.
struct CallbackRequest {
  std::map<std::string, std::string> params;  // query parameters
  std::optional<std::string> path_app;        // {app} of /oauth/callback/{app}; nullopt on /oauth/callback
  std::optional<std::string> cookie;          // the __Host-mediax_connect cookie, if the browser sent it
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
  // lacks none); choices the platform cannot honour are 400. Checked now, applied when the link is
  // opened. The link expires after oauth.connect_link_ttl_seconds.
  Expected<ConnectLink> create_link(const std::string& app_name, const AuthorizeChoices& choices = {});
  // GET /connect/start?ticket=…: uses the ticket up and starts the authorization bound to a new
  // browser cookie; a used, expired or unknown ticket (410/400), or an app that cannot start now,
  // is a page and no redirect.
  ConnectStart open_link(const std::string& ticket);
  // Creates the state (bound to `browser_cookie`, stored as its SHA-256) and the platform's URL.
  Expected<AuthorizeStart> start_authorization(const std::string& app_name, const AuthorizeChoices& choices,
                                               const std::string& browser_cookie);
  // Handles the platform's redirect: the page to show, success or not. The code is exchanged only
  // for the browser holding the state's cookie, on the state's app's path, with a right iss.
  CallbackResult handle_callback(const CallbackRequest& cb);
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
  // Why the request may not be finished here (binding, path, iss); nullopt when it may.
  std::optional<CallbackResult> refusal(const CallbackRequest& cb, const AuthRequest& req, const App& app,
                                        Platform& platform, const std::optional<std::string>& iss);

  AdminStore& store_;
  EventLog& events_;
  PlatformRegistry& platforms_;
  Grants& grants_;
  NewGrantStore& new_grants_;
  const Config& config_;
  const TimeSource& time_;
};

}  // namespace mediax
