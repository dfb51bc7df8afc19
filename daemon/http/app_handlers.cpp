// AdminHandlers for /v1/apps: register, list, show, delete, secrets, webhook.
#include "http/admin_handlers.hpp"
#include "http/handler_replies.hpp"
#include "http/json_body.hpp"
#include "http/json_mapping.hpp"
#include "service/apps.hpp"

namespace mediax {

namespace {

auto answer_app(HttpResponse& res, int status) {
  return [&res, status](const App& app) { res.json(status, to_json(app)); };
}

}  // namespace

void AdminHandlers::list_apps(const HttpRequest&, HttpResponse& res) {
  reply(res, apps_.list_apps(), [&res](const std::vector<App>& list) {
    nlohmann::json shown = nlohmann::json::array();
    for (const auto& app : list) shown.push_back(to_json(app));
    res.json(200, {{"apps", shown}});
  });
}

void AdminHandlers::register_app(const HttpRequest& req, HttpResponse& res) {
  reply(res, apps_.register_app(parse_json_body(req.body)), answer_app(res, 201));
}

void AdminHandlers::get_app(const HttpRequest& req, HttpResponse& res) {
  reply(res, apps_.get_app(req.params.at(0)), answer_app(res, 200));
}

void AdminHandlers::delete_app(const HttpRequest& req, HttpResponse& res) {
  reply(res, apps_.delete_app(req.params.at(0)), [&res] { res.json(200, {{"deleted", true}}); });
}

void AdminHandlers::update_app_secrets(const HttpRequest& req, HttpResponse& res) {
  reply(res, apps_.update_app_secrets(req.params.at(0), parse_json_body(req.body)), answer_app(res, 200));
}

void AdminHandlers::get_webhook(const HttpRequest& req, HttpResponse& res) {
  reply(res, apps_.get_webhook(req.params.at(0), 20), [&res](const auto& found) {
    const auto& [hook, deliveries] = found;
    nlohmann::json list = nlohmann::json::array();
    for (const auto& d : deliveries) list.push_back(to_json(d));
    res.json(200, {{"url", hook.url},
                   {"created_at", format_time(hook.created_at)},
                   {"updated_at", format_time(hook.updated_at)},
                   {"deliveries", list}});
  });
}

void AdminHandlers::set_webhook(const HttpRequest& req, HttpResponse& res) {
  reply(res, apps_.set_webhook(req.params.at(0), parse_json_body(req.body)), answer_app(res, 200));
}

void AdminHandlers::delete_webhook(const HttpRequest& req, HttpResponse& res) {
  reply(res, apps_.delete_webhook(req.params.at(0)), answer_app(res, 200));
}

}  // namespace mediax
