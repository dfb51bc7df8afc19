// Apps: register, list, read and delete them; change their secrets and webhooks (the /v1/apps
// routes but the connect flow, grants and tokens). Every call returns its value or the ApiError
// to answer; the request parsers' ApiError (app_request, app_secrets, webhooks) comes back as a
// value too. Thread-safe: called from the HTTP worker threads.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/config.hpp"
#include "util/time_source.hpp"
#include "core/types.hpp"
#include "service/api_error.hpp"
#include "store/interfaces.hpp"

namespace mediax {

class OutboundGuard;
class Platform;
class PlatformRegistry;
class Scheduler;
class TokenCache;
class TokenReads;

// An app read with its client secret, and its platform.
struct AppOnPlatform {
  App app;
  Platform* platform = nullptr;
};
// 404 not_found, 400 unknown_platform, or database_error.
Expected<AppOnPlatform> app_for_platform_call(AdminStore& store, PlatformRegistry& platforms,
                                              const std::string& app_name);

// Whether app `app_name`'s own token waits for the first component_verify_ticket, read again now
// (the failed call may just have tried to fetch it; component_status::waiting_for_ticket): a
// platform that needs it may only say its token is unavailable. False when unreadable.
bool app_waits_for_ticket(AdminStore& store, const std::string& app_name);

class Apps {
 public:
  // `reads` is told of apps registered and deleted (what token reads answer from memory);
  // `schedule` is where a client-credentials app's first token is put (RefreshStore + Scheduler).
  // `outbound` checks the URLs the daemon will call (issuer, token, revocation, webhook) when they
  // are registered: one it refuses is a 400 address_not_allowed at once (the HTTP client checks
  // again at every connection).
  Apps(AdminStore& store, RefreshStore& schedule, WebhookOutbox& outbox, EventLog& events, PlatformRegistry& platforms,
       TokenCache& cache, TokenReads& reads, Scheduler& scheduler, const Config& config, const TimeSource& time,
       const OutboundGuard& outbound);

  // Validates the POST /v1/apps body strictly (unknown fields are errors), resolves discovery,
  // stores the app and, for client credentials, schedules its first token now. 409 duplicate or
  // credential_in_use.
  Expected<App> register_app(const nlohmann::json& body);
  Expected<std::vector<App>> list_apps();
  // With webhook_url; 404 not_found.
  Expected<App> get_app(const std::string& name);
  // The name of app `app_id`; "" when there is none.
  Expected<std::string> app_name(std::int64_t app_id);
  Expected<void> delete_app(const std::string& name);
  // PUT /v1/apps/{name}/secrets (service/app_secrets.hpp): the client secret and/or secret options
  // replaced, checked by the platform's prepare_app as at registration (400 body, 422 the platform
  // refuses the values), grants kept. An app token stopped by a refused secret runs again now.
  // Returns the app as get_app shows it.
  Expected<App> update_app_secrets(const std::string& name, const nlohmann::json& body);

  // Webhooks (PUT/DELETE/GET /v1/apps/{name}/webhook): PUT body {"url", "secret"}, validated like the
  // "webhook" field of POST /v1/apps. Return the app (with webhook_url).
  Expected<App> set_webhook(const std::string& app_name, const nlohmann::json& body);
  Expected<App> delete_webhook(const std::string& app_name);
  // The app's webhook (without secret) and its latest deliveries; 404 when it has none.
  Expected<std::pair<Webhook, std::vector<WebhookDelivery>>> get_webhook(const std::string& app_name, int limit);

 private:
  AdminStore& store_;
  RefreshStore& schedule_;
  WebhookOutbox& outbox_;
  EventLog& events_;
  PlatformRegistry& platforms_;
  TokenCache& cache_;
  TokenReads& reads_;
  Scheduler& scheduler_;
  const Config& config_;
  const TimeSource& time_;
  const OutboundGuard& outbound_;
};

}  // namespace mediax
