#include "http/routes.hpp"

#include "http/admin_handlers.hpp"

namespace mediax {

namespace {

using H = AdminHandlers;
constexpr Access kOpen = Access::open;
constexpr Access kReader = Access::reader;
constexpr Access kAdmin = Access::admin;
constexpr bool kBoth = true;   // also on admin.token_listen
constexpr bool kAdminOnly = false;

// clang-format off
constexpr Route kRoutes[] = {
  // method    pattern                                  operationId                   access   listeners   handler, fast
  {"GET",    "/healthz",                               "getHealth",                  kOpen,   kBoth,      &H::healthz, &H::healthz_now},
  {"GET",    "/readyz",                                "getReadiness",               kOpen,   kAdminOnly, &H::readyz},
  {"GET",    "/metrics",                               "getMetrics",                 kOpen,   kAdminOnly, &H::metrics},
  {"GET",    "/oauth/callback",                        "oauthCallback",              kOpen,   kAdminOnly, &H::oauth_callback},
  {"POST",   "/wechat/component/{app}/events",         "receiveWechatComponentEvent", kOpen,  kAdminOnly, &H::wechat_component_event},
  {"GET",    "/console",                               "consoleRedirect",            kOpen,   kAdminOnly, &H::console_redirect},
  {"GET",    "/console/{path*}",                       "getConsoleFile",             kOpen,   kAdminOnly, &H::console_file},

  {"GET",    "/v1/apps",                               "listApps",                   kAdmin,  kAdminOnly, &H::list_apps},
  {"POST",   "/v1/apps",                               "registerApp",                kAdmin,  kAdminOnly, &H::register_app},
  {"GET",    "/v1/apps/{name}",                        "getApp",                     kAdmin,  kAdminOnly, &H::get_app},
  {"DELETE", "/v1/apps/{name}",                        "deleteApp",                  kAdmin,  kAdminOnly, &H::delete_app},
  {"PUT",    "/v1/apps/{name}/secrets",                "updateAppSecrets",           kAdmin,  kAdminOnly, &H::update_app_secrets},
  {"GET",    "/v1/apps/{name}/webhook",                "getWebhook",                 kAdmin,  kAdminOnly, &H::get_webhook},
  {"PUT",    "/v1/apps/{name}/webhook",                "setWebhook",                 kAdmin,  kAdminOnly, &H::set_webhook},
  {"DELETE", "/v1/apps/{name}/webhook",                "deleteWebhook",              kAdmin,  kAdminOnly, &H::delete_webhook},

  {"POST",   "/v1/apps/{name}/authorize",              "startAuthorization",         kAdmin,  kAdminOnly, &H::start_authorization},
  {"GET",    "/v1/apps/{name}/connect",                "connectAccount",             kAdmin,  kAdminOnly, &H::connect_account},

  {"GET",    "/v1/apps/{name}/grants",                 "listGrants",                 kAdmin,  kAdminOnly, &H::list_grants},
  {"POST",   "/v1/apps/{name}/grants",                 "addGrantFromCode",           kAdmin,  kAdminOnly, &H::add_grant_from_code},
  {"POST",   "/v1/apps/{name}/grants/import",          "importGrant",                kAdmin,  kAdminOnly, &H::import_grant},
  {"GET",    "/v1/grants/{id}",                        "getGrant",                   kAdmin,  kAdminOnly, &H::get_grant},
  {"DELETE", "/v1/grants/{id}",                        "revokeGrant",                kAdmin,  kAdminOnly, &H::revoke_grant},
  {"POST",   "/v1/grants/{id}/recover",                "recoverGrant",               kAdmin,  kAdminOnly, &H::recover_grant},

  {"GET",    "/v1/grants/{id}/token",                  "getGrantToken",              kReader, kBoth,      &H::get_grant_token, &H::get_grant_token_now},
  {"GET",    "/v1/apps/{name}/token",                  "getAppToken",                kReader, kBoth,      &H::get_app_token},
  {"POST",   "/v1/apps/{name}/refresh",                "refreshAppToken",            kAdmin,  kAdminOnly, &H::refresh_app_token},
  {"POST",   "/v1/grants/{id}/refresh",                "refreshGrantToken",          kAdmin,  kAdminOnly, &H::refresh_grant_token},
  {"POST",   "/v1/apps/{name}/token/rejected",         "reportRejectedAppToken",     kReader, kAdminOnly, &H::report_rejected_app_token},
  {"POST",   "/v1/grants/{id}/token/rejected",         "reportRejectedGrantToken",   kReader, kAdminOnly, &H::report_rejected_grant_token},
};
// clang-format on

}  // namespace

std::span<const Route> route_table() { return kRoutes; }

}  // namespace mediax
