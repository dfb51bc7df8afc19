// The WeChat third-party platform's event URL (授权事件接收URL): what happens to one push to
// POST /wechat/component/{app}/events, without HTTP (http/wechat_component_routes.cpp serves it).
//
// WeChat counts a delivery as done only when the answer is the literal `success` within about
// 5 s, and retries otherwise. So `success` is answered only once what the push carries is stored
// (the ticket, the exchanged grant, the revocation); a database failure answers 503 so the push
// comes again, a platform failure during a code exchange 502 (the code may still be good).
// Refused pushes (signature, replay, decryption, appid) answer 403 or 400 and are logged by kind
// and app only, never their content.
//
// Reference: ../shared/platforms-wechat-component.md §1 (transport), §4 (double exchange), §6.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>

#include "core/types.hpp"
#include "obs/metrics.hpp"
#include "platforms/wechat_component_events.hpp"
#include "service/api_error.hpp"
#include "store/store.hpp"

namespace mediax {

class TokenCache;

struct ComponentEventAnswer {
  int status = 200;
  std::string body = "success";
  std::string content_type = "text/plain; charset=utf-8";
};

// What the receiver asks of the rest of the daemon beside the store and the cache.
struct ComponentEventActions {
  // Puts the key on the timer wheel at `at` (Scheduler::schedule).
  std::function<void(const RefreshKey&, TimePoint)> schedule;
  // Takes the key off the timer wheel (Scheduler::cancel).
  std::function<void(const RefreshKey&)> cancel;
  // Exchanges an AuthorizationCode and stores the grant as the OAuth callback does
  // (ConnectFlow::connect_with_code): the grant, or the ApiError when the platform refuses or fails
  // (details.platform_code). Throws StoreError when the database fails.
  std::function<Expected<Grant>(const App&, const std::string& code, const std::string& event)> connect;
  // Says the key's inputs changed (Refresher::inputs_changed): a fetch of the component token in
  // flight that read "no ticket" tries again instead of waiting 10 minutes for the next push.
  std::function<void(const RefreshKey&)> inputs_changed;
};

class ComponentEventReceiver {
 public:
  // wechat_component::open_component_push, or a stand-in in tests.
  using Opener = std::function<wechat_component::OpenedPush(
      const std::map<std::string, std::string>& query, const std::string& body,
      const wechat_component::ReceiverKeys& keys, TimePoint now, Seconds max_age)>;

  // Largest body accepted (WeChat's pushes are a few hundred bytes).
  static constexpr std::size_t kMaxBody = 64 * 1024;
  // A code exchange refused as used (61009) or expired (61010) is no loss when the same account's
  // grant was stored this recently: the redirect exchanged the code first.
  static constexpr Seconds kRecentConnect{600};

  ComponentEventReceiver(Store& store, TokenCache& cache, ComponentEventActions actions, Seconds max_age, Opener opener,
                         metrics::Registry& metrics);

  // One push. Never throws.
  ComponentEventAnswer handle(const std::string& app_name, const std::map<std::string, std::string>& query,
                              const std::string& body, TimePoint now);

 private:
  ComponentEventAnswer dispatch(const App& app, const wechat_component::ComponentEvent& e, TimePoint now);
  ComponentEventAnswer on_ticket(const App& app, const wechat_component::ComponentEvent& e, TimePoint now);
  ComponentEventAnswer on_authorized(const App& app, const wechat_component::ComponentEvent& e, TimePoint now);
  ComponentEventAnswer on_unauthorized(const App& app, const wechat_component::ComponentEvent& e);
  ComponentEventAnswer refused(const App& app, const wechat_component::OpenedPush& p, TimePoint now);
  void record(const App& app, std::optional<std::int64_t> grant_id, const std::string& kind, nlohmann::json detail);
  void count(const App& app, const std::string& result);
  // Logged once per name: anyone may post to the URL.
  void log_unknown_app(const std::string& name);

  Store& store_;
  TokenCache& cache_;
  ComponentEventActions actions_;
  Seconds max_age_;
  Opener opener_;
  metrics::Registry& metrics_;
  std::mutex mu_;  // guards the two below
  std::set<std::string> unknown_logged_;
  // Refusals are recorded as events at most once a minute per app and kind: the URL is public.
  std::map<std::pair<std::int64_t, std::string>, TimePoint> refusal_recorded_;
};

}  // namespace mediax
