// One class per platform dialect behind one interface. Platform classes build requests and
// parse responses; they classify every answer into an Outcome. Nothing platform-specific
// leaks into the scheduler or the store.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/types.hpp"
#include "net/http_client.hpp"

namespace mediax {

struct AuthorizeParams {
  std::string state;
  std::string code_challenge;  // S256 challenge; empty if the platform does not use PKCE
  std::string redirect_uri;
  // Per-connection choices (POST /v1/apps/{name}/authorize); only platforms whose check_authorize
  // accepts them get any. Empty / false: the app's own settings. The default member initializers
  // keep {state, challenge, redirect_uri} aggregate initialization free of missing-field warnings.
  std::vector<std::string> scopes{};    // ask for these instead of the app's scopes (e.g. the missing ones)
  std::string prompt{};                 // OpenID Connect prompt values, space-separated
  std::string login_hint{};             // which account the provider should offer (an email or a sub)
  bool include_granted_scopes = false;  // Google: the new token also carries the scopes granted before
  // WeChat third-party platform (wechat_component): the mobile (H5) authorization link instead of the
  // PC page; which accounts the page offers (1 official accounts, 2 mini programs, 3 both; 0: the
  // app's option or WeChat's default); one account only (its appid). Empty: the app's options.
  bool mobile = false;
  int auth_type = 0;
  std::string biz_appid{};
  // Filled by Platform::prepare_authorize (wechat_component: the pre_auth_code); never logged.
  std::string pre_auth_code{};

  bool has_choices() const {
    return !scopes.empty() || !prompt.empty() || !login_hint.empty() || include_granted_scopes || mobile ||
           auth_type != 0 || !biz_appid.empty();
  }
};

// The verdict on an app's registration body as far as the platform is concerned.
struct AppCheck {
  bool ok = true;
  int status = 400;                    // HTTP status when !ok (400 bad field, 502 discovery failed)
  std::string code = "invalid_field";  // API error code when !ok
  std::string message;                 // "field: why" — never a secret

  static AppCheck fail(std::string message, int status = 400, std::string code = "invalid_field") {
    return {false, status, std::move(code), std::move(message)};
  }
};

// RFC 9207: what the `iss` parameter of an authorization response for an app must be.
struct CallbackIssuer {
  bool required = false;  // the authorization server sends iss (its metadata says so, or the app's option)
  std::string issuer;     // a present iss must equal this exactly; "" = unknown (not compared)
  std::string error;      // the metadata that says whether iss is sent could not be read: refuse
};

// Why the app's own token is asked for. A platform whose tokens other systems hold (WeChat's
// stable_token) must tell an admin's forced refresh from a consumer's report that a token was
// refused: only the first may invalidate the token everyone holds.
enum class AppTokenReason {
  scheduled,  // the stored token is due
  forced,     // an admin asked for a new token (POST /v1/apps/{name}/refresh)
  rejected,   // a consumer reported that the platform refused rejected_token (token/rejected)
};

struct AppTokenCall {
  AppTokenReason reason = AppTokenReason::scheduled;
  std::optional<std::string> rejected_token;  // with `rejected`: the token the consumer says was refused

  static AppTokenCall forced() { return {AppTokenReason::forced, std::nullopt}; }
  static AppTokenCall rejected(std::string token) { return {AppTokenReason::rejected, std::move(token)}; }
};

// The code of a successful client_token answer to a `rejected` call whose token is the refused one:
// the platform says it is still the app's current token, and the platform class chose not to force a
// new one (others hold it). The message tells the consumer why and what an admin can do.
inline constexpr const char* kTokenStillCurrent = "token_still_current";

class Platform {
 public:
  virtual ~Platform() = default;
  virtual std::string name() const = 0;
  // Checks the platform-specific parts of a new app (required fields, options) and fills in
  // what follows from them (defaults, discovered endpoints). Secrets a platform needs (a
  // service-account key) belong in client_secret, which is stored like one and never shown.
  virtual AppCheck prepare_app(App& app) = 0;
  // Whether this platform's authorization code flow uses PKCE for this app.
  virtual bool uses_pkce(const App& app) const = 0;
  // The code_challenge of `verifier` for this app: RFC 7636 S256 (base64url of SHA-256) unless the
  // platform says otherwise (TikTok's desktop page: hex).
  virtual std::string pkce_challenge(const App& app, const std::string& verifier) const;
  // "" when this platform can honour p's per-connection choices for this app, else why not. The
  // platforms that take none refuse any.
  virtual std::string check_authorize(const App& app, const AuthorizeParams& p) const {
    (void)app;
    return p.has_choices()
               ? "the " + name() + " platform takes no scopes, prompt, login_hint or grant_id per connection"
               : std::string();
  }
  // What the authorization page needs from the platform before its URL can be built (the WeChat
  // third-party platform: a single-use pre_auth_code, stored in p). Called after check_authorize,
  // with the app's secrets; success (with an empty token) when there is nothing to fetch.
  virtual Outcome prepare_authorize(const App& app, AuthorizeParams& p) {
    (void)app;
    (void)p;
    return Outcome::success({});
  }
  // The URL the user's browser is sent to.
  virtual std::string authorize_url(const App& app, const AuthorizeParams& p) const = 0;
  // What the callback's `iss` must be for this app (RFC 9207). Platforms without an issuer: none.
  virtual CallbackIssuer callback_issuer(const App& app) {
    (void)app;
    return {};
  }
  // Exchanges an authorization code. On success token.account_id names the account when known.
  virtual Outcome exchange_code(const App& app, const std::string& code, const std::string& code_verifier,
                                const std::string& redirect_uri) = 0;
  // Refreshes a grant's access token with its refresh token (grant.refresh_token is filled).
  virtual Outcome refresh(const App& app, const Grant& grant) = 0;
  // Gets the app's own token (client credentials); `call` says why it is asked for.
  virtual Outcome client_token(const App& app, const AppTokenCall& call) = 0;
  // Revokes a grant at the platform, best effort. success when revoked or not supported.
  virtual Outcome revoke(const App& app, const Grant& grant) = 0;
  // Gets a grant going again when its refresh token is lost or refused, without the account's owner
  // (WeChat third-party platform: api_get_authorizer_info hands out the authorizer's refresh token,
  // which then refreshes). Success carries a new access token and the refresh token to store.
  // Platforms without such a call answer failure(app_misconfigured, "not_supported").
  virtual Outcome recover_grant(const App& app, const Grant& grant) {
    (void)app;
    (void)grant;
    return Outcome::failure(OutcomeKind::app_misconfigured, "not_supported",
                            "the " + name() + " platform cannot recover a grant: connect the account again");
  }
};

// Platform configuration the daemon passes to every platform class.
struct PlatformSettings {
  Seconds default_expires_in{3600};  // when a provider omits expires_in
  // Base URLs per platform from the config's [platforms.NAME] tables, e.g.
  // urls["douyin"]["base_url"]. Filled with the real hosts by default.
  std::map<std::string, std::map<std::string, std::string>> urls;
};

}  // namespace mediax
