// The checks that bind a connect flow to the browser, the app and the authorization server that
// started it (README "### Connect flows bound to the browser"). Pure: no I/O, no clock; the SQL
// that consumes tickets and states atomically is the store's.
//
// A flow: POST /v1/apps/{name}/authorize hands out a one-time link; opening it (GET /connect/start)
// sets the __Host-mediax_connect cookie in that browser and stores its SHA-256 with the state; the
// platform's redirect is served only where that cookie comes back, on the app's own callback path,
// with the authorization server's `iss` when it sends one (RFC 9207).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "platforms/platform.hpp"
#include "store/records.hpp"

namespace mediax {

inline constexpr const char* kConnectCookie = "__Host-mediax_connect";

// Hex SHA-256 of a link's ticket or of a browser cookie: what is stored in their stead.
std::string connect_secret_hash(std::string_view secret);

// Whether the browser's cookie is the one the state was issued to.
enum class BindingVerdict {
  ok,
  unbound,    // the state has no binding (made before the upgrade): refused
  no_cookie,  // another browser (or cookies blocked)
  mismatch,   // a cookie of another flow
};
BindingVerdict check_binding(const std::string& stored_hash, const std::optional<std::string>& cookie);

// The callback path the platform sends the browser to for app `app_name`: {callback_base}/{app_name}.
std::string app_callback_url(const std::string& callback_base, const std::string& app_name);
// Whether a callback that arrived on /oauth/callback/{path_app} (path_app) or on the shared
// /oauth/callback (nullopt) may finish a state issued for app `app_name` with `redirect_uri`:
// on an app's path only that app's states; on the shared path only states whose redirect_uri is
// not an app path (apps registered before per-app paths, or with their own redirect_uri).
bool callback_path_fits(const std::optional<std::string>& path_app, const std::string& app_name,
                        const std::string& redirect_uri);

// RFC 9207 §2.4: the callback's iss against what the authorization server's metadata (or the app's
// option) says.
enum class IssVerdict { ok, missing, mismatch, metadata_unavailable };
IssVerdict check_iss(const CallbackIssuer& expected, const std::optional<std::string>& received);

// The page GET /connect/start shows for a ticket it cannot use: 400 unknown, 410 used or expired.
struct RefusalPage {
  int status = 400;
  std::string title;
  std::string message;
};
RefusalPage ticket_refusal(ConsumeResult r);

}  // namespace mediax
