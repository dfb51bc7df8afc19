// How the admin handlers (http/*_handlers.cpp) turn a service's outcome into an HttpResponse: its
// value by the handler's own shape, its ApiError by http/answers.hpp's error_answer; tokens with
// the headers every token answer carries.
#pragma once

#include <functional>
#include <type_traits>

#include "core/types.hpp"
#include "http/message.hpp"
#include "service/api_error.hpp"

namespace mediax {

// e's status and JSON body.
void answer_api_error(HttpResponse& res, const ApiError& e);

// A service's outcome: its value handed to `ok`, or its ApiError answered.
template <typename T, typename Ok>
void reply(HttpResponse& res, const Expected<T>& r, Ok&& ok) {
  if (!r) return answer_api_error(res, r.error());
  if constexpr (std::is_void_v<T>) {
    ok();
  } else {
    ok(*r);
  }
}

// A token (200, "Cache-Control: no-store": a token must not sit in a proxy or client cache), marked
// stale (http/answers.hpp kStaleHeaders) while database_reachable says no; or the error. Both
// listeners answer tokens this way.
void answer_token(HttpResponse& res, const Expected<Token>& t, const std::function<bool()>& database_reachable);
HttpResponse token_answer(const Expected<Token>& t, const std::function<bool()>& database_reachable);

}  // namespace mediax
