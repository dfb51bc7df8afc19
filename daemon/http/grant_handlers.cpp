// AdminHandlers for /v1/apps/{name}/grants and /v1/grants/{id}: list, add, import, show, revoke,
// recover.
#include "http/admin_handlers.hpp"
#include "http/answers.hpp"
#include "http/handler_replies.hpp"
#include "http/json_body.hpp"
#include "http/json_mapping.hpp"
#include "service/apps.hpp"
#include "service/grants.hpp"
#include "service/token_reads.hpp"

namespace mediax {

namespace {

std::optional<TimePoint> token_expiry(TokenReads& reads, const Grant& g) {
  return reads.token_expiry(RefreshKey{g.app_id, g.id});
}

// A code the creator's own app obtained, or a refresh token from another system: 201 with the new
// grant, 200 when the account was connected already (its grant replaced).
void answer_added(HttpResponse& res, TokenReads& reads, const Expected<GrantAdded>& added, const std::string& app) {
  reply(res, added, [&](const GrantAdded& a) {
    res.json(a.created ? 201 : 200, to_json(a.grant, app, token_expiry(reads, a.grant)));
  });
}

// A grant as GET /v1/grants/{id} shows it, with its app's name.
void answer_grant(HttpResponse& res, Apps& apps, TokenReads& reads, const Expected<Grant>& grant) {
  reply(res, grant.and_then([&](const Grant& g) { return apps.app_name(g.app_id); }),
        [&](const std::string& app) { res.json(200, to_json(*grant, app, token_expiry(reads, *grant))); });
}

}  // namespace

void AdminHandlers::list_grants(const HttpRequest& req, HttpResponse& res) {
  const std::string& name = req.params.at(0);
  reply(res, grants_.list_grants(name), [&](const std::vector<Grant>& list) {
    nlohmann::json shown = nlohmann::json::array();
    for (const auto& g : list) shown.push_back(to_json(g, name, token_expiry(reads_, g)));
    res.json(200, {{"grants", shown}});
  });
}

void AdminHandlers::add_grant_from_code(const HttpRequest& req, HttpResponse& res) {
  const std::string& app = req.params.at(0);
  answer_added(res, reads_, grants_.add_grant_from_code(app, parse_json_body(req.body)), app);
}

void AdminHandlers::import_grant(const HttpRequest& req, HttpResponse& res) {
  const std::string& app = req.params.at(0);
  answer_added(res, reads_, grants_.import_grant(app, parse_json_body(req.body)), app);
}

void AdminHandlers::get_grant(const HttpRequest& req, HttpResponse& res) {
  answer_grant(res, apps_, reads_, grants_.get_grant(parse_grant_id(req.params.at(0))));
}

void AdminHandlers::revoke_grant(const HttpRequest& req, HttpResponse& res) {
  reply(res, grants_.revoke_grant(parse_grant_id(req.params.at(0))), [&res](const std::string& platform) {
    res.json(200, {{"revoked", true}, {"platform_revocation", platform}});
  });
}

// A lost or refused refresh token got going again by the platform's recovery call (admin role).
void AdminHandlers::recover_grant(const HttpRequest& req, HttpResponse& res) {
  answer_grant(res, apps_, reads_, grants_.recover_grant(parse_grant_id(req.params.at(0))));
}

}  // namespace mediax
