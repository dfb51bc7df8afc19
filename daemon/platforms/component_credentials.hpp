// What the WeChat third-party platform (wechat_component) needs from the rest of the daemon: the
// latest component_verify_ticket WeChat pushed, and the component_access_token, which is the app's
// own token (refreshed on the timer wheel like every app token). The daemon implements it over the
// store, the token cache and the refresher (service/); tests with a fixed table.
#pragma once

#include <optional>
#include <string>

#include "core/types.hpp"

namespace mediax {

class ComponentCredentials {
 public:
  virtual ~ComponentCredentials() = default;
  // The newest stored component_verify_ticket of `app`; nullopt when none was ever pushed. May throw
  // (database unavailable): callers treat that as "try again later".
  virtual std::optional<std::string> latest_ticket(const App& app) = 0;
  // The app's current component_access_token with at least a minute left, refreshing it first when
  // there is none; nullopt when none can be had now (waiting for a ticket, platform failing).
  // `refused`: WeChat just refused this token (40001/40014/42001): a new one is fetched, unless the
  // current token is already another (a concurrent refresh replaced it).
  virtual std::optional<std::string> component_token(const App& app,
                                                     const std::optional<std::string>& refused = std::nullopt) = 0;
};

}  // namespace mediax
