// AdminHandlers for GET /v1/audit: the audit trail, newest first, filtered by the query.
#include "http/admin_handlers.hpp"
#include "http/handler_replies.hpp"
#include "service/audit_trail.hpp"
#include "util/time_format.hpp"

namespace mediax {

namespace {

nlohmann::json nullable(const std::string& s) { return s.empty() ? nlohmann::json(nullptr) : nlohmann::json(s); }

nlohmann::json to_json(const AuditEntry& e) {
  return {{"id", e.id},
          {"at", e.at ? nlohmann::json(format_time(*e.at)) : nlohmann::json(nullptr)},
          {"who", nullable(e.who)},
          {"what", e.what},
          {"app", nullable(e.app)},
          {"grant_id", nullable(e.grant)},
          {"result", nullable(e.result)},
          {"peer", nullable(e.peer)},
          {"count", e.count}};
}

}  // namespace

void AdminHandlers::list_audit(const HttpRequest& req, HttpResponse& res) {
  if (audit_ == nullptr) return res.error(404, "not_found", "this server keeps no audit trail");
  reply(res, audit_->list(req.query_params()), [&res](const AuditPage& page) {
    nlohmann::json entries = nlohmann::json::array();
    for (const auto& e : page.entries) entries.push_back(to_json(e));
    nlohmann::json body{{"entries", std::move(entries)}};
    body["next_before"] = page.next_before ? nlohmann::json(*page.next_before) : nlohmann::json(nullptr);
    res.json(200, body);
  });
}

}  // namespace mediax
