#include "service/apps.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <optional>

#include "net/outbound_guard.hpp"
#include "platforms/credential_key.hpp"
#include "platforms/platform.hpp"
#include "platforms/registry.hpp"
#include "platforms/token_usage.hpp"
#include "schedule/scheduler.hpp"
#include "schedule/token_cache.hpp"
#include "service/app_request.hpp"
#include "service/app_secrets.hpp"
#include "service/component_status.hpp"
#include "service/event_record.hpp"
#include "service/token_reads.hpp"
#include "service/webhooks.hpp"
#include "util/url.hpp"

namespace mediax {

namespace {

ApiError no_app(const std::string& name) { return ApiError(404, "not_found", "no app named '" + name + "'"); }

// 400 address_not_allowed when the guard refuses where `url` (the request's `field`) leads. A host
// that does not resolve now passes: it may later, and the client checks it then.
std::optional<ApiError> refused_destination(const OutboundGuard& guard, const std::string& field,
                                            const std::string& url) {
  if (url.empty()) return std::nullopt;
  const auto check = guard.check_url(url);
  if (check.verdict != OutboundGuard::Verdict::refused) return std::nullopt;
  return ApiError(400, kAddressNotAllowed, field + ": " + check.message, {{"field", field}});
}

// The URLs of `app` the daemon calls: what the request gave (before discovery) or what the
// platform resolved them to (after).
std::optional<ApiError> refused_app_destination(const OutboundGuard& guard, const App& app) {
  const std::pair<const char*, const std::string*> urls[] = {
      {"issuer", &app.issuer},
      {"endpoints.token_url", &app.endpoints.token_url},
      {"endpoints.revocation_url", &app.endpoints.revocation_url},
  };
  for (const auto& [field, url] : urls) {
    if (auto refused = refused_destination(guard, field, *url)) return refused;
  }
  return std::nullopt;
}

}  // namespace

Expected<AppOnPlatform> app_for_platform_call(AdminStore& store, PlatformRegistry& platforms, const std::string& name) {
  std::optional<App> app;
  try {
    if (valid_app_name(name)) app = store.get_app(name, true);
  } catch (const StoreError& e) {
    return tl::unexpected(database_error(e));
  }
  if (!app) return tl::unexpected(no_app(name));
  Platform* platform = platforms.get(app->platform);
  if (!platform) {
    return tl::unexpected(ApiError(400, "unknown_platform", "platform '" + app->platform + "' is not supported"));
  }
  return AppOnPlatform{std::move(*app), platform};
}

bool app_waits_for_ticket(AdminStore& store, const std::string& app_name) {
  try {
    const auto app = store.get_app(app_name);
    return app && component_status::waiting_for_ticket(*app);
  } catch (const StoreError&) {
    return false;
  }
}

Apps::Apps(AdminStore& store, RefreshStore& schedule, WebhookOutbox& outbox, EventLog& events,
           PlatformRegistry& platforms, TokenCache& cache, TokenReads& reads, Scheduler& scheduler,
           const Config& config, const TimeSource& time, const OutboundGuard& outbound)
    : store_(store),
      schedule_(schedule),
      outbox_(outbox),
      events_(events),
      platforms_(platforms),
      cache_(cache),
      reads_(reads),
      scheduler_(scheduler),
      config_(config),
      time_(time),
      outbound_(outbound) {}

Expected<App> Apps::register_app(const nlohmann::json& body) {
  // "webhook" is ours; the rest is the app (validated strictly by app_from_request).
  std::optional<webhooks::Setting> hook;
  auto request = parsed([&] {
    if (body.is_object() && body.contains("webhook")) {
      if (!body["webhook"].is_null()) hook = webhooks::setting_from_request(body["webhook"], "webhook.");
      nlohmann::json rest = body;
      rest.erase("webhook");
      return app_from_request(rest, platforms_.names(), config_.callback_url());
    }
    return app_from_request(body, platforms_.names(), config_.callback_url());
  });
  if (!request) return tl::unexpected(request.error());
  App app = std::move(*request);
  if (hook) {
    if (auto refused = refused_destination(outbound_, "webhook.url", hook->url)) return tl::unexpected(*refused);
  }
  if (auto refused = refused_app_destination(outbound_, app)) return tl::unexpected(*refused);
  auto check = platforms_.get(app.platform)->prepare_app(app);
  if (!check.ok) return tl::unexpected(ApiError(check.status, check.code, check.message));
  // Discovery's answer names the endpoints: checked as if the request had.
  if (auto refused = refused_app_destination(outbound_, app)) return tl::unexpected(*refused);
  app.token_usage = token_usage_for(app.platform);
  if (auto own = app_token_usage_for(app.platform); own != app.token_usage) app.app_token_usage = own;
  PlatformSettings urls;
  urls.urls = config_.platforms;
  app.credential_key = credential_key(app, urls);

  try {
    app = store_.create_app(app);
  } catch (const CredentialInUseError& e) {
    // One credential, one app token: a second fetcher would invalidate the first one's tokens.
    return tl::unexpected(
        ApiError(409, "credential_in_use",
                 (e.holder.empty() ? std::string("another app") : "app '" + e.holder + "'") +
                     " fetches its app token with this credential (platform, client_id, base URL) already;"
                     " two fetchers invalidate each other's tokens: read that app's token instead",
                 {{"app", e.holder.empty() ? nlohmann::json(nullptr) : nlohmann::json(e.holder)}}));
  } catch (const DuplicateError&) {
    return tl::unexpected(ApiError(409, "duplicate", "an app named '" + app.name + "' already exists"));
  } catch (const StoreError& e) {
    return tl::unexpected(database_error(e));
  }
  if (hook) {
    // Before the first token is scheduled, so its failure already reaches the webhook.
    try {
      store_.set_webhook(app.id, hook->url, hook->secret);
      app.webhook_url = hook->url;
    } catch (const StoreError& e) {
      try {
        store_.delete_app(app.name);  // all or nothing
      } catch (const StoreError&) {
        spdlog::error("app '{}' was registered without its webhook (database failed)", app.name);
      }
      return tl::unexpected(database_error(e));
    }
  }
  reads_.app_registered(app);
  record_event(events_, app.id, std::nullopt, "app_registered", {{"name", app.name}, {"platform", app.platform}});
  spdlog::info("app '{}' registered (platform {}, client credentials {})", app.name, app.platform,
               app.client_credentials);
  if (app.client_credentials) {
    RefreshKey key{app.id, 0};
    auto now = time_.system();
    try {
      schedule_.set_next_refresh(key, now);
    } catch (const StoreError& e) {
      spdlog::warn("app '{}': could not schedule its first token yet: {}", app.name, e.what());
    }
    scheduler_.schedule(key, now);
  }
  app.client_secret.clear();
  return app;
}

Expected<std::vector<App>> Apps::list_apps() {
  try {
    return store_.list_apps();
  } catch (const StoreError& e) {
    return tl::unexpected(database_error(e));
  }
}

Expected<App> Apps::get_app(const std::string& name) {
  std::optional<App> app;
  try {
    if (valid_app_name(name)) app = store_.get_app(name);
    if (app) {
      if (auto w = store_.get_webhook(app->id)) app->webhook_url = w->url;
    }
  } catch (const StoreError& e) {
    return tl::unexpected(database_error(e));
  }
  if (!app) return tl::unexpected(no_app(name));
  return *app;
}

Expected<std::string> Apps::app_name(std::int64_t app_id) {
  try {
    auto app = store_.get_app_by_id(app_id);
    return app ? app->name : std::string();
  } catch (const StoreError& e) {
    return tl::unexpected(database_error(e));
  }
}

Expected<App> Apps::set_webhook(const std::string& app_name, const nlohmann::json& body) {
  auto app = get_app(app_name);
  if (!app) return app;
  const auto hook = parsed([&] { return webhooks::setting_from_request(body, ""); });
  if (!hook) return tl::unexpected(hook.error());
  if (auto refused = refused_destination(outbound_, "url", hook->url)) return tl::unexpected(*refused);
  try {
    store_.set_webhook(app->id, hook->url, hook->secret);
  } catch (const StoreError& e) {
    return tl::unexpected(database_error(e));
  }
  const bool replaced = !app->webhook_url.empty();
  app->webhook_url = hook->url;
  record_event(events_, app->id, std::nullopt, "webhook_set", {{"url", redact_url(hook->url)}});
  spdlog::info("app '{}': webhook {} ({})", app->name, replaced ? "replaced" : "set", redact_url(hook->url));
  return app;
}

Expected<App> Apps::delete_webhook(const std::string& app_name) {
  auto app = get_app(app_name);
  if (!app) return app;
  bool had = false;
  try {
    had = store_.delete_webhook(app->id);
  } catch (const StoreError& e) {
    return tl::unexpected(database_error(e));
  }
  if (!had) return tl::unexpected(ApiError(404, "not_found", "app '" + app->name + "' has no webhook"));
  app->webhook_url.clear();
  record_event(events_, app->id, std::nullopt, "webhook_removed", nlohmann::json::object());
  spdlog::info("app '{}': webhook removed", app->name);
  return app;
}

Expected<std::pair<Webhook, std::vector<WebhookDelivery>>> Apps::get_webhook(const std::string& app_name, int limit) {
  auto app = get_app(app_name);
  if (!app) return tl::unexpected(app.error());
  try {
    auto hook = store_.get_webhook(app->id);
    if (!hook) return tl::unexpected(ApiError(404, "not_found", "app '" + app->name + "' has no webhook"));
    return std::pair{*hook, outbox_.list_webhook_deliveries(app->id, limit)};
  } catch (const StoreError& e) {
    return tl::unexpected(database_error(e));
  }
}

Expected<void> Apps::delete_app(const std::string& name) {
  auto app = get_app(name);
  if (!app) return tl::unexpected(app.error());
  try {
    if (!store_.delete_app(name)) return tl::unexpected(no_app(name));
  } catch (const StoreError& e) {
    return tl::unexpected(database_error(e));
  }
  scheduler_.cancel(RefreshKey{app->id, 0});
  cache_.erase_app(app->id);
  reads_.app_deleted(app->name);
  record_event(events_, app->id, std::nullopt, "app_deleted", {{"name", app->name}});
  spdlog::info("app '{}' deleted", app->name);
  return {};
}

Expected<App> Apps::update_app_secrets(const std::string& name, const nlohmann::json& body) {
  const auto change = parsed([&] { return app_secrets_change_from_request(body); });
  if (!change) return tl::unexpected(change.error());
  auto found = app_for_platform_call(store_, platforms_, name);
  if (!found && found.error().code() == "secret_unreadable") {
    // The stored secrets are refused (sealed for other endpoints, changed, plain text): setting
    // them again is the way out, so it must not need them. The app without its secrets: what the
    // body gives replaces them; a secret option it leaves out is gone with the refused value.
    try {
      if (auto bare = store_.get_app(name, false)) {
        if (Platform* p = platforms_.get(bare->platform)) found = AppOnPlatform{std::move(*bare), p};
      }
    } catch (const StoreError& e) {
      return tl::unexpected(database_error(e));
    }
  }
  if (!found) return tl::unexpected(found.error());
  auto& [app, platform] = *found;
  if (app.options.is_object() && app.options.contains("service_account")) {
    // Its key file is the secret; such an app has no grants to keep: register it again.
    return tl::unexpected(
        ApiError(422, "not_supported", "a service-account app changes its key by being registered again"));
  }
  App candidate = app;
  const auto changed = parsed([&] { return apply_app_secrets(candidate, *change); });
  if (!changed) return tl::unexpected(changed.error());
  // Checked as at registration; the stored endpoints stand (no discovery again).
  App checked = candidate;
  if (!checked.issuer.empty() && !checked.endpoints.token_url.empty()) checked.issuer.clear();
  const auto check = platform->prepare_app(checked);
  // prepare_app moves the platform's secret options out of `options`: a name left there is not one.
  for (const auto& [option, value] : change->options.items()) {
    if (!value.is_null() && checked.options.is_object() && checked.options.contains(option)) {
      return tl::unexpected(bad_field("options." + option, "not a secret option of platform " + app.platform));
    }
  }
  // The body was well formed; the platform refuses the values (or what they leave stored).
  if (!check.ok) return tl::unexpected(ApiError(check.status == 400 ? 422 : check.status, check.code, check.message));
  // A client secret given again unchanged still restarts a stopped app token: the admin says it is right.
  if (!changed->empty() || change->client_secret) {
    const bool secret_changed = std::find(changed->begin(), changed->end(), "client_secret") != changed->end();
    const bool options_changed = changed->size() > (secret_changed ? 1U : 0U);
    const auto now = time_.system();
    AppSecretsUpdated done;
    try {
      done = store_.update_app_secrets(
          app.id, secret_changed ? std::optional<std::string>(checked.client_secret) : std::nullopt,
          options_changed ? std::optional<nlohmann::json>(checked.secret_options) : std::nullopt,
          change->client_secret ? std::optional<TimePoint>(now) : std::nullopt);
    } catch (const StoreError& e) {
      return tl::unexpected(database_error(e));
    }
    if (!done.found) return tl::unexpected(no_app(name));
    if (done.rescheduled) scheduler_.schedule(RefreshKey{app.id, 0}, now);
    if (changed->empty() && !done.rescheduled) return get_app(name);  // the same secret again: nothing to say
    std::string fields;
    for (const auto& f : *changed) fields += (fields.empty() ? "" : ", ") + f;
    record_event(events_, app.id, std::nullopt, "app_secrets_changed",
                 {{"fields", *changed}, {"app_token_restarted", done.rescheduled}});
    spdlog::info("app '{}': secrets changed ({}){}", app.name, fields,
                 done.rescheduled ? "; its stopped app token is fetched again now" : "");
  }
  return get_app(name);
}

}  // namespace mediax
