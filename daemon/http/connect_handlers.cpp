// AdminHandlers for connecting an account: the authorize URL, the browser redirect, the
// platform's callback.
#include <spdlog/spdlog.h>

#include "http/admin_handlers.hpp"
#include "http/callback_page.hpp"
#include "http/handler_replies.hpp"
#include "http/json_body.hpp"
#include "service/authorize_choices.hpp"
#include "service/connect_flow.hpp"

namespace mediax {

void AdminHandlers::start_authorization(const HttpRequest& req, HttpResponse& res) {
  // The body is optional: none (or {}) connects with the app's own settings.
  const auto choices = authorize_choices_from_request(req.body.empty() ? nlohmann::json() : parse_json_body(req.body));
  reply(res, connect_.start_authorization(req.params.at(0), choices), [&res](const AuthorizeStart& a) {
    res.json(200, {{"authorize_url", a.authorize_url}, {"state", a.state}, {"expires_at", format_time(a.expires_at)}});
  });
}

void AdminHandlers::connect_account(const HttpRequest& req, HttpResponse& res) {
  reply(res, connect_.start_authorization(req.params.at(0), authorize_choices_from_query(req.query_params())),
        [&res](const AuthorizeStart& a) { res.redirect(a.authorize_url, 302); });
}

void AdminHandlers::oauth_callback(const HttpRequest& req, HttpResponse& res) {
  CallbackResult r;
  try {
    r = connect_.handle_callback(req.query_params());
  } catch (const std::exception& e) {
    spdlog::error("oauth callback: internal error: {}", e.what());
    r.status = 500;
    r.title = "Internal error";
    r.message = "The token daemon failed; see its log.";
  }
  res.status = r.status;
  res.set_header("Cache-Control", "no-store");
  res.set_header("Referrer-Policy", "no-referrer");
  res.content_type = "text/html; charset=utf-8";
  res.body = callback_page(r.title, r.message, r.status == 200);
}

}  // namespace mediax
