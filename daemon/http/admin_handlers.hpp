// The handlers of the admin API's routes (one method per row of http/routes.cpp), on the service
// objects of service/. Each answers an HttpRequest whose params the router has filled; errors of
// the services become answers by http/answers.hpp's error_answer. Authorization is not here: the
// Dispatcher checks the route's Access before a handler runs.
#pragma once

#include <atomic>
#include <functional>
#include <optional>
#include <string>

#include "config/config.hpp"
#include "http/admin_services.hpp"
#include "http/message.hpp"
#include "obs/metrics.hpp"

namespace mediax {

class ComponentEventReceiver;

class AdminHandlers {
 public:
  // ready: whether the database is reachable and migrated (for /readyz). console_dir: the web
  // console's files ("" = http/console_routes.hpp find_console_dir()).
  AdminHandlers(const AdminServices& services, const AdminConfig& config, std::function<bool()> ready,
                metrics::Registry& metrics, std::string console_dir = "");

  // Whether the database answers now. While it does not, tokens served from memory carry
  // "Warning: 110 - \"Response is stale\"" and "X-Mediax-Stale: database-unreachable". Before serving.
  void set_database_reachable(std::function<bool()> reachable);
  // Serves POST /wechat/component/{app}/events with `receiver` (outlives the handlers); without
  // one that route answers 404.
  void set_component_events(ComponentEventReceiver& receiver);

  // Health, readiness, metrics.
  void healthz(const HttpRequest&, HttpResponse&);
  std::optional<HttpResponse> healthz_now(const HttpRequest&);
  void readyz(const HttpRequest&, HttpResponse&);
  void metrics(const HttpRequest&, HttpResponse&);
  // Apps.
  void list_apps(const HttpRequest&, HttpResponse&);
  void register_app(const HttpRequest&, HttpResponse&);
  void get_app(const HttpRequest&, HttpResponse&);
  void delete_app(const HttpRequest&, HttpResponse&);
  void update_app_secrets(const HttpRequest&, HttpResponse&);
  void get_webhook(const HttpRequest&, HttpResponse&);
  void set_webhook(const HttpRequest&, HttpResponse&);
  void delete_webhook(const HttpRequest&, HttpResponse&);
  // Connecting an account.
  void start_authorization(const HttpRequest&, HttpResponse&);
  void connect_account(const HttpRequest&, HttpResponse&);
  void connect_start(const HttpRequest&, HttpResponse&);
  // GET /oauth/callback and GET /oauth/callback/{app} (the app's own path).
  void oauth_callback(const HttpRequest&, HttpResponse&);
  void wechat_component_event(const HttpRequest&, HttpResponse&);
  // Grants.
  void list_grants(const HttpRequest&, HttpResponse&);
  void add_grant_from_code(const HttpRequest&, HttpResponse&);
  void import_grant(const HttpRequest&, HttpResponse&);
  void get_grant(const HttpRequest&, HttpResponse&);
  void revoke_grant(const HttpRequest&, HttpResponse&);
  void recover_grant(const HttpRequest&, HttpResponse&);
  // Tokens.
  void get_app_token(const HttpRequest&, HttpResponse&);
  void get_grant_token(const HttpRequest&, HttpResponse&);
  std::optional<HttpResponse> get_grant_token_now(const HttpRequest&);  // from the token cache
  void refresh_app_token(const HttpRequest&, HttpResponse&);
  void refresh_grant_token(const HttpRequest&, HttpResponse&);
  void report_rejected_app_token(const HttpRequest&, HttpResponse&);
  void report_rejected_grant_token(const HttpRequest&, HttpResponse&);
  // The audit trail (http/audit_handlers.cpp).
  void list_audit(const HttpRequest&, HttpResponse&);
  // The web console's static files.
  void console_redirect(const HttpRequest&, HttpResponse&);
  void console_file(const HttpRequest&, HttpResponse&);

 private:
  Apps& apps_;
  ConnectFlow& connect_;
  Grants& grants_;
  TokenReads& reads_;
  AuditTrail* audit_;
  AdminConfig config_;
  std::function<bool()> ready_;
  metrics::Registry& metrics_;
  std::string console_dir_;
  std::function<bool()> database_reachable_;                        // empty: assumed reachable
  std::atomic<ComponentEventReceiver*> component_events_{nullptr};  // POST /wechat/component/{app}/events
};

}  // namespace mediax
