#include "service/component_events.hpp"

#include <spdlog/spdlog.h>

#include "service/app_request.hpp"
#include "service/api_error.hpp"
#include "service/component_status.hpp"
#include "obs/metrics.hpp"
#include "schedule/token_cache.hpp"

namespace mediax {

namespace {

namespace wc = wechat_component;

ComponentEventAnswer answer(int status, std::string body) {
  ComponentEventAnswer a;
  a.status = status;
  a.body = std::move(body);
  return a;
}

ComponentEventAnswer database_unavailable() { return answer(503, "database unavailable"); }

// 403: the push is not WeChat's (or not this app's, or too old); 400: it is malformed.
int refusal_status(wc::PushRefusal r) {
  switch (r) {
    case wc::PushRefusal::bad_signature:
    case wc::PushRefusal::wrong_appid:
    case wc::PushRefusal::undecryptable:
    case wc::PushRefusal::stale: return 403;
    default: return 400;
  }
}

std::string option(const nlohmann::json& o, const char* key) {
  if (!o.is_object() || !o.contains(key) || !o[key].is_string()) return {};
  return o[key].get<std::string>();
}

wc::ReceiverKeys keys_of(const App& app) {
  wc::ReceiverKeys k;
  k.component_appid = app.client_id;
  k.message_token = option(app.secret_options, "message_token");
  k.encoding_aes_key = option(app.secret_options, "encoding_aes_key");
  k.previous_encoding_aes_key = option(app.secret_options, "previous_encoding_aes_key");
  return k;
}

}  // namespace

ComponentEventReceiver::ComponentEventReceiver(Store& store, TokenCache& cache, ComponentEventActions actions,
                                               Seconds max_age, Opener opener, metrics::Registry& metrics)
    : store_(store),
      cache_(cache),
      actions_(std::move(actions)),
      max_age_(max_age),
      opener_(std::move(opener)),
      metrics_(metrics) {}

// The receiver's one metric: its name and help are written here only.
void ComponentEventReceiver::count(const App& app, const std::string& result) {
  metrics_
      .counter("mediax_component_pushes_total",
               "Pushes to a WeChat third-party platform's event URL by app and result (event type or refusal)",
               {{"app", app.name}, {"result", result}})
      .inc();
}

void ComponentEventReceiver::record(const App& app, std::optional<std::int64_t> grant_id, const std::string& kind,
                                    nlohmann::json detail) {
  try {
    Event e;
    e.app_id = app.id;
    e.grant_id = grant_id;
    e.kind = kind;
    e.detail = std::move(detail);
    store_.add_event(e);
  } catch (const std::exception& ex) {
    spdlog::warn("app '{}': could not record event {}: {}", app.name, kind, ex.what());
  }
}

void ComponentEventReceiver::log_unknown_app(const std::string& name) {
  {
    std::lock_guard lk(mu_);
    // Bounded: a scan of made-up names must not grow memory without end.
    if (unknown_logged_.size() >= 1000 || !unknown_logged_.insert(name).second) return;
  }
  spdlog::warn("wechat component event for '{}' refused: no wechat_component app of that name", name);
}

ComponentEventAnswer ComponentEventReceiver::handle(const std::string& app_name,
                                                    const std::map<std::string, std::string>& query,
                                                    const std::string& body, TimePoint now) {
  if (body.size() > kMaxBody) return answer(413, "too large");
  // Not a name an app can have: no database read, and nothing from the URL in the log.
  if (!valid_app_name(app_name)) {
    log_unknown_app("(not an app name)");
    return answer(404, "unknown app");
  }
  std::optional<App> app;
  try {
    app = store_.get_app(app_name, true);
  } catch (const SecretUnreadableError& e) {
    // The keys cannot be opened (key not loaded, value moved): nothing can be checked. A retry
    // after a restart with the right key may work.
    spdlog::error("wechat component event for app '{}': {}", app_name, e.what());
    return answer(500, "keys unreadable");
  } catch (const StoreError&) {
    spdlog::warn("wechat component event for app '{}' not taken: database unavailable", app_name);
    return database_unavailable();
  }
  if (!app || app->platform != component_status::kPlatform) {
    log_unknown_app(app_name);
    return answer(404, "unknown app");
  }
  const auto opened = opener_(query, body, keys_of(*app), now, max_age_);
  if (opened.refusal != wc::PushRefusal::none) return refused(*app, opened, now);
  if (opened.used_previous_key) {
    spdlog::info("app '{}': a push opened with the previous EncodingAESKey (rotation in progress)", app->name);
  }
  try {
    auto a = dispatch(*app, opened.event, now);
    count(*app, a.status == 200 ? wc::to_string(opened.event.type) : "error");
    return a;
  } catch (const StoreError&) {
    count(*app, "error");
    spdlog::warn("app '{}': {} push not taken: database unavailable (WeChat retries)", app->name,
                 wc::to_string(opened.event.type));
    return database_unavailable();
  } catch (const std::exception& e) {
    count(*app, "error");
    spdlog::error("app '{}': {} push not taken: {}", app->name, wc::to_string(opened.event.type), e.what());
    return answer(500, "internal error");
  }
}

ComponentEventAnswer ComponentEventReceiver::refused(const App& app, const wc::OpenedPush& p, TimePoint now) {
  const std::string kind = wc::to_string(p.refusal);
  count(app, kind);
  spdlog::warn("app '{}': push to the event URL refused: {}{}", app.name, kind,
               p.detail.empty() ? "" : ": " + p.detail);
  bool due = false;
  {
    std::lock_guard lk(mu_);
    auto& last = refusal_recorded_[{app.id, kind}];
    if (last == TimePoint{} || now - last >= std::chrono::minutes(1)) {
      last = now;
      due = true;
    }
  }
  if (due) record(app, std::nullopt, "component_push_refused", {{"refusal", kind}, {"detail", p.detail}});
  return answer(refusal_status(p.refusal), "refused: " + kind);
}

ComponentEventAnswer ComponentEventReceiver::dispatch(const App& app, const wc::ComponentEvent& e, TimePoint now) {
  switch (e.type) {
    case wc::EventType::verify_ticket: return on_ticket(app, e, now);
    case wc::EventType::authorized:
    case wc::EventType::updateauthorized: return on_authorized(app, e, now);
    case wc::EventType::unauthorized: return on_unauthorized(app, e);
    case wc::EventType::other: break;
  }
  // Acknowledged so WeChat does not retry what this daemon does not act on.
  spdlog::info("app '{}': push of InfoType '{}' acknowledged, not acted on", app.name, e.info_type.substr(0, 64));
  record(app, std::nullopt, "component_event_ignored", {{"info_type", e.info_type.substr(0, 64)}});
  return {};
}

ComponentEventAnswer ComponentEventReceiver::on_ticket(const App& app, const wc::ComponentEvent& e, TimePoint now) {
  ComponentTicket t;
  t.app_id = app.id;
  t.ticket = e.ticket;
  t.create_time = e.create_time;
  t.received_at = now;
  if (!store_.put_component_ticket(t)) return {};  // a retried or overtaken push: ours is as new
  // One event for the first ticket only: one comes every 10 minutes.
  if (!app.component_ticket_at) {
    spdlog::info("app '{}': first component_verify_ticket stored", app.name);
    record(app, std::nullopt, "component_ticket_received", {{"create_time", format_time(e.create_time)}});
  }
  // The component token waited for a ticket (or had none): fetch it now, not at the next retry.
  const RefreshKey key{app.id, 0};
  // First: a fetch in flight may have read "no ticket" just before this one was stored; its
  // failure, written after the set_next_refresh below, would put the fetch off by 10 minutes.
  if (actions_.inputs_changed) actions_.inputs_changed(key);
  const auto live = [now](const std::optional<Token>& token) { return token && token->expires_at > now; };
  bool has_token = live(cache_.get(key));
  if (!has_token) {
    // Another instance may have fetched it (its NOTIFY on the way): minting another would only
    // end that one's life early.
    const auto stored = store_.get_token(key);
    if (stored) cache_.put_if_newer(*stored);
    has_token = live(stored);
  }
  if (app.client_credentials && app.status == GrantStatus::active &&
      (!has_token || component_status::blocked_on_ticket(app))) {
    // The database first: a scheduled refresh only runs while the row is due.
    store_.set_next_refresh(key, now);
    if (actions_.schedule) actions_.schedule(key, now);
  }
  return {};
}

ComponentEventAnswer ComponentEventReceiver::on_authorized(const App& app, const wc::ComponentEvent& e, TimePoint now) {
  const bool update = e.type == wc::EventType::updateauthorized;
  const std::string event = update ? "grant_updated" : "grant_connected";
  const auto connected = actions_.connect(app, e.authorization_code, event);
  if (connected) {
    spdlog::info("app '{}': account '{}' {} as grant {} (authorization event)", app.name, connected->account_id,
                 update ? "updated" : "connected", connected->id);
    return {};
  }
  const ApiError& err = connected.error();
  const auto& d = err.details();
  const std::string code = d.is_object() && d.contains("platform_code") && d["platform_code"].is_string()
                               ? d["platform_code"].get<std::string>()
                               : std::string();
  if (code == "61009" || code == "61010") {
    // The creator's browser reached the redirect first and its exchange spent the code: fine
    // when that account's grant was stored just now.
    for (const auto& g : store_.list_grants(app.id)) {
      if (g.account_id == e.authorizer_appid && g.status == GrantStatus::active &&
          now - g.updated_at <= kRecentConnect) {
        spdlog::info("app '{}': authorization event for account '{}': code already exchanged (grant {})", app.name,
                     e.authorizer_appid, g.id);
        return {};
      }
    }
  }
  spdlog::warn("app '{}': authorization event for account '{}': code exchange failed: {}", app.name, e.authorizer_appid,
               err.what());
  // WeChat retries a failed delivery; the code may still be good then.
  return answer(502, "code exchange failed");
}

ComponentEventAnswer ComponentEventReceiver::on_unauthorized(const App& app, const wc::ComponentEvent& e) {
  static const std::string kReason = "the account withdrew its authorization";
  const auto id = store_.revoke_grant_of_account(app.id, e.authorizer_appid, kReason);
  if (!id) {
    spdlog::info("app '{}': account '{}' withdrew its authorization; it had no active grant", app.name,
                 e.authorizer_appid);
    return {};
  }
  const RefreshKey key{app.id, *id};
  cache_.erase(key);
  if (actions_.cancel) actions_.cancel(key);
  record(app, *id, "grant_revoked", {{"reason", kReason}, {"account_id", e.authorizer_appid}});
  spdlog::info("app '{}': account '{}' withdrew its authorization: grant {} revoked", app.name, e.authorizer_appid,
               *id);
  return {};
}

}  // namespace mediax
