// AdminHandlers for token reads, forced refreshes and rejected tokens, for apps and grants.
#include "http/admin_handlers.hpp"
#include "http/answers.hpp"
#include "http/handler_replies.hpp"
#include "http/json_body.hpp"
#include "service/app_request.hpp"
#include "service/token_reads.hpp"

namespace mediax {

namespace {

// The accepted key and its app scope, as the Dispatcher set them (http/message.hpp).
Caller caller_of(const HttpRequest& req) { return Caller{req.caller, req.caller_apps}; }

}  // namespace

void AdminHandlers::get_app_token(const HttpRequest& req, HttpResponse& res) {
  answer_token(res, reads_.app_token_key(req.params.at(0), caller_of(req)).and_then([this](const RefreshKey& k) {
    return reads_.current_token(k);
  }),
               database_reachable_);
}

void AdminHandlers::get_grant_token(const HttpRequest& req, HttpResponse& res) {
  answer_token(res,
               reads_.grant_key(parse_grant_id(req.params.at(0)), caller_of(req)).and_then([this](const RefreshKey& k) {
                 return reads_.current_token(k);
               }),
               database_reachable_);
}

// The read other apps make all the time (bench/RESULTS.md, token reads): from the token cache on the
// event loop. A malformed id is answered here too (404, as get_grant_token answers it); a grant not
// in memory (or, for a key scoped to apps, whose app's name is not) goes to get_grant_token on the pool.
std::optional<HttpResponse> AdminHandlers::get_grant_token_now(const HttpRequest& req) {
  std::int64_t id = 0;
  try {
    id = parse_grant_id(req.params.at(0));
  } catch (const ApiError& e) {
    return token_answer(tl::unexpected(e), database_reachable_);
  }
  auto t = reads_.cached_grant_token(id, caller_of(req));
  if (!t) return token_answer(tl::unexpected(t.error()), database_reachable_);
  if (*t) return token_answer(**t, database_reachable_);
  return std::nullopt;
}

void AdminHandlers::refresh_app_token(const HttpRequest& req, HttpResponse& res) {
  answer_token(res, reads_.app_token_key(req.params.at(0), caller_of(req)).and_then([this](const RefreshKey& k) {
    return reads_.force_refresh(k);
  }),
               database_reachable_);
}

void AdminHandlers::refresh_grant_token(const HttpRequest& req, HttpResponse& res) {
  answer_token(res,
               reads_.grant_key(parse_grant_id(req.params.at(0)), caller_of(req)).and_then([this](const RefreshKey& k) {
                 return reads_.force_refresh(k);
               }),
               database_reachable_);
}

namespace {

// The body is checked after the key is found (a 404 before a 400), as the routes always did.
Expected<Token> rejected(TokenReads& reads, const Expected<RefreshKey>& key, const HttpRequest& req) {
  return key.and_then([&](const RefreshKey& k) {
    return reads.token_rejected(k, rejected_token_from_request(parse_json_body(req.body)), caller_of(req));
  });
}

}  // namespace

void AdminHandlers::report_rejected_app_token(const HttpRequest& req, HttpResponse& res) {
  answer_token(res, rejected(reads_, reads_.app_token_key(req.params.at(0), caller_of(req)), req), database_reachable_);
}

void AdminHandlers::report_rejected_grant_token(const HttpRequest& req, HttpResponse& res) {
  answer_token(res, rejected(reads_, reads_.grant_key(parse_grant_id(req.params.at(0)), caller_of(req)), req),
               database_reachable_);
}

}  // namespace mediax
