#include "http/routes.hpp"

#include <algorithm>

#include "http/admin_handlers.hpp"

namespace mediax {

namespace {

using H = AdminHandlers;
constexpr Access kOpen = Access::open;
constexpr Access kReader = Access::reader;
constexpr Access kAdmin = Access::admin;
constexpr Access kMetrics = Access::metrics;  // open unless metrics.require_key
constexpr bool kBoth = true;  // also on admin.token_listen
constexpr bool kAdminOnly = false;
constexpr AuditAs kCounted = AuditAs::counted;  // token reads (the rest: AuditAs::action but these and kUnaudited)
constexpr AuditAs kUnaudited = AuditAs::none;

// clang-format off
constexpr Route kRoutes[] = {
  // method    pattern                                  operationId                   access   listeners   handler, fast
  {"GET",    "/healthz",                               "getHealth",                  kOpen,   kBoth,      &H::healthz, &H::healthz_now, kUnaudited},
  {"GET",    "/readyz",                                "getReadiness",               kOpen,   kAdminOnly, &H::readyz, nullptr, kUnaudited},
  {"GET",    "/metrics",                               "getMetrics",                 kMetrics, kAdminOnly, &H::metrics, nullptr, kUnaudited},
  {"GET",    "/oauth/callback",                        "oauthCallback",              kOpen,   kAdminOnly, &H::oauth_callback},
  {"GET",    "/oauth/callback/{app}",                  "oauthAppCallback",           kOpen,   kAdminOnly, &H::oauth_callback},
  {"GET",    "/connect/start",                         "startConnect",               kOpen,   kAdminOnly, &H::connect_start},
  {"POST",   "/wechat/component/{app}/events",         "receiveWechatComponentEvent", kOpen,  kAdminOnly, &H::wechat_component_event},
  {"GET",    "/console",                               "consoleRedirect",            kOpen,   kAdminOnly, &H::console_redirect, nullptr, kUnaudited},
  {"GET",    "/console/{path*}",                       "getConsoleFile",             kOpen,   kAdminOnly, &H::console_file, nullptr, kUnaudited},

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

  {"GET",    "/v1/grants/{id}/token",                  "getGrantToken",              kReader, kBoth,      &H::get_grant_token, &H::get_grant_token_now, kCounted},
  {"GET",    "/v1/apps/{name}/token",                  "getAppToken",                kReader, kBoth,      &H::get_app_token, nullptr, kCounted},
  {"POST",   "/v1/apps/{name}/refresh",                "refreshAppToken",            kAdmin,  kAdminOnly, &H::refresh_app_token},
  {"POST",   "/v1/grants/{id}/refresh",                "refreshGrantToken",          kAdmin,  kAdminOnly, &H::refresh_grant_token},
  {"POST",   "/v1/apps/{name}/token/rejected",         "reportRejectedAppToken",     kReader, kAdminOnly, &H::report_rejected_app_token},
  {"POST",   "/v1/grants/{id}/token/rejected",         "reportRejectedGrantToken",   kReader, kAdminOnly, &H::report_rejected_grant_token},

  {"GET",    "/v1/audit",                              "listAudit",                  kAdmin,  kAdminOnly, &H::list_audit},
};
// clang-format on

// Whether path fits pattern segment by segment; the {x} segments go to params. No regex: this
// runs for every request, and a pattern is plain text with parameters.
bool matches(std::string_view pattern, std::string_view path, std::vector<std::string>& params) {
  params.clear();
  if (pattern.empty() || path.empty() || pattern.front() != '/' || path.front() != '/') return false;
  pattern.remove_prefix(1);
  path.remove_prefix(1);
  while (true) {
    const auto pattern_end = pattern.find('/');
    const auto want = pattern.substr(0, pattern_end);
    if (want.size() >= 3 && want.front() == '{' && want.substr(want.size() - 2) == "*}") {
      params.emplace_back(path);  // the rest, slashes and all, maybe ""
      return true;
    }
    const auto path_end = path.find('/');
    const auto got = path.substr(0, path_end);
    if (!want.empty() && want.front() == '{') {
      if (got.empty()) return false;
      params.emplace_back(got);
    } else if (want != got) {
      return false;
    }
    if (pattern_end == std::string_view::npos || path_end == std::string_view::npos) {
      return pattern_end == std::string_view::npos && path_end == std::string_view::npos;
    }
    pattern.remove_prefix(pattern_end + 1);
    path.remove_prefix(path_end + 1);
  }
}

}  // namespace

std::span<const Route> route_table() { return kRoutes; }

RouteMatch match_route(std::span<const Route> routes, std::string_view method, std::string_view path,
                       bool token_listener_only) {
  RouteMatch out;
  std::vector<std::string> params;
  for (const auto& r : routes) {
    if (token_listener_only && !r.token_listener) continue;
    if (!matches(r.pattern, path, params)) continue;
    if (r.method == method || (method == "HEAD" && r.method == "GET")) {
      out.route = &r;
      out.params = std::move(params);
      out.other_methods.clear();
      return out;
    }
    if (std::find(out.other_methods.begin(), out.other_methods.end(), r.method) == out.other_methods.end()) {
      out.other_methods.push_back(r.method);
    }
  }
  return out;
}

}  // namespace mediax
