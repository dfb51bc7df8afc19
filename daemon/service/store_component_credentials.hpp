// ComponentCredentials (platforms/component_credentials.hpp) over the daemon's own parts: the
// ticket from the store, the component_access_token — which is the app's own token — from the
// token cache, refreshed through the Refresher when it is missing, short-lived or refused.
//
// Built before the PlatformRegistry (the wechat_component platform holds a pointer to it) and
// bound to the cache and refresher once they exist (runtime/daemon.cpp): the refresher needs the
// registry. Until bound, only the store is asked.
//
// Called on refresh workers: a grant's refresh asks for the component token, which may refresh
// the app token on the same thread. That cannot wait on itself: the Refresher coalesces per key,
// and the app key is not the grant key; a concurrent refresh of the app token (another worker) is
// joined. The platform's client_token (the app token's own refresh) must not ask for the
// component token: it would wait for itself. The DB lease keeps other instances out.
#pragma once

#include <atomic>

#include "util/time_source.hpp"
#include "platforms/component_credentials.hpp"
#include "store/store.hpp"

namespace mediax {

class TokenCache;
class Refresher;

class StoreComponentCredentials final : public ComponentCredentials {
 public:
  StoreComponentCredentials(Store& store, const TimeSource& clock) : store_(store), clock_(clock) {}
  // Once the cache and refresher exist; both must outlive this object's use.
  void bind(TokenCache& cache, Refresher& refresher);

  std::optional<std::string> latest_ticket(const App& app) override;
  std::optional<std::string> component_token(const App& app,
                                             const std::optional<std::string>& refused = std::nullopt) override;

  // Below this much life left a cached token is refreshed first: a component API call with it
  // must still be good when WeChat checks it.
  static constexpr Seconds kMinLeft{60};

 private:
  Store& store_;
  const TimeSource& clock_;
  std::atomic<TokenCache*> cache_{nullptr};
  std::atomic<Refresher*> refresher_{nullptr};
};

}  // namespace mediax
