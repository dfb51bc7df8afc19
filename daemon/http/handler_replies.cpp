#include "http/handler_replies.hpp"

#include "http/answers.hpp"
#include "http/json_mapping.hpp"

namespace mediax {

void answer_api_error(HttpResponse& res, const ApiError& e) {
  const auto a = error_answer(e);
  res.json(a.status, a.body);
  // A rate limit's answer says when to come back (RFC 9110 §10.2.3), as its body does.
  if (const auto& d = e.details(); a.status == 429 && d.contains("retry_after_seconds")) {
    res.set_header("Retry-After", std::to_string(d["retry_after_seconds"].get<std::int64_t>()));
  }
}

void answer_token(HttpResponse& res, const Expected<Token>& t, const std::function<bool()>& database_reachable) {
  if (!t) return answer_api_error(res, t.error());
  res.status = 200;
  res.content_type = "application/json";
  res.body = token_json_text(*t);
  res.set_header("Cache-Control", "no-store");
  if (serving_stale(database_reachable)) {
    for (const auto& [name, value] : kStaleHeaders) res.set_header(name, std::string(value));
  }
}

HttpResponse token_answer(const Expected<Token>& t, const std::function<bool()>& database_reachable) {
  HttpResponse res;
  answer_token(res, t, database_reachable);
  return res;
}

}  // namespace mediax
