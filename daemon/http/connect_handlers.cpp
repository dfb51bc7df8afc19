// AdminHandlers for connecting an account: the one-time connect link, the browser's start at
// mediaxd (the cookie binding the flow to it), the platform's callback.
#include <spdlog/spdlog.h>

#include "http/admin_handlers.hpp"
#include "http/callback_page.hpp"
#include "http/connect_cookie.hpp"
#include "http/handler_replies.hpp"
#include "http/json_body.hpp"
#include "service/authorize_choices.hpp"
#include "service/connect_checks.hpp"
#include "service/connect_flow.hpp"

namespace mediax {

namespace {

// Pages of the flow are never cached, and never hand their URL (a ticket, a code) on as a Referer.
void html_page(HttpResponse& res, int status, const std::string& title, const std::string& message) {
  res.status = status;
  res.set_header("Cache-Control", "no-store");
  res.set_header("Referrer-Policy", "no-referrer");
  res.content_type = "text/html; charset=utf-8";
  res.body = callback_page(title, message, status == 200);
}

}  // namespace

void AdminHandlers::start_authorization(const HttpRequest& req, HttpResponse& res) {
  // The body is optional: none (or {}) connects with the app's own settings.
  const auto choices = authorize_choices_from_request(req.body.empty() ? nlohmann::json() : parse_json_body(req.body));
  reply(res, connect_.create_link(req.params.at(0), choices), [&res](const ConnectLink& l) {
    res.set_header("Cache-Control", "no-store");
    res.json(200, {{"connect_url", l.url}, {"expires_at", format_time(l.expires_at)}});
  });
}

// The caller is the browser itself: it is sent to the link, which sets its cookie.
void AdminHandlers::connect_account(const HttpRequest& req, HttpResponse& res) {
  reply(res, connect_.create_link(req.params.at(0), authorize_choices_from_query(req.query_params())),
        [&res](const ConnectLink& l) {
          res.redirect(l.url, 302);
          res.set_header("Cache-Control", "no-store");
          res.set_header("Referrer-Policy", "no-referrer");
        });
}

void AdminHandlers::connect_start(const HttpRequest& req, HttpResponse& res) {
  const auto q = req.query_params();
  const auto it = q.find("ticket");
  ConnectStart s;
  try {
    s = connect_.open_link(it == q.end() ? std::string() : it->second);
  } catch (const std::exception& e) {
    spdlog::error("connect link: internal error: {}", e.what());
    s.status = 500;
    s.title = "Internal error";
    s.message = "The token daemon failed; see its log.";
  }
  if (s.status != 302) return html_page(res, s.status, s.title, s.message);
  res.redirect(s.authorize_url, 302);
  res.set_header("Set-Cookie", set_connect_cookie(s.cookie, s.cookie_max_age));
  res.set_header("Cache-Control", "no-store");
  // The origin only, never this URL's ticket: WeChat's third-party platform page checks that it is
  // opened from its registered 授权发起页域名 (mediaxd's host) by the Referer.
  res.set_header("Referrer-Policy", "origin");
}

void AdminHandlers::oauth_callback(const HttpRequest& req, HttpResponse& res) {
  CallbackRequest cb;
  cb.params = req.query_params();
  if (!req.params.empty()) cb.path_app = req.params.at(0);  // /oauth/callback/{app}
  cb.cookie = cookie_value(req.header("Cookie"), kConnectCookie);
  CallbackResult r;
  try {
    r = connect_.handle_callback(cb);
  } catch (const std::exception& e) {
    spdlog::error("oauth callback: internal error: {}", e.what());
    r.status = 500;
    r.title = "Internal error";
    r.message = "The token daemon failed; see its log.";
  }
  html_page(res, r.status, r.title, r.message);
  // The flow is over whatever happened: the cookie has nothing more to bind.
  if (cb.cookie) res.set_header("Set-Cookie", clear_connect_cookie());
}

}  // namespace mediax
