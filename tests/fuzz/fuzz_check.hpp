// Invariants every fuzz target checks on what the daemon would store or show. A violated one
// aborts with a message, which libFuzzer reports as a crash with the input that caused it.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/types.hpp"
#include "platforms/platform_util.hpp"

namespace mediax::fuzz {

// Secrets the fuzzed requests "carried"; none may come back in a message.
inline const std::vector<std::string>& secrets() {
  static const std::vector<std::string> s{"s3cret-client-value", "rt-refresh-token-value", "the-auth-code-value"};
  return s;
}

[[noreturn]] inline void fail(const std::string& what) {
  std::fprintf(stderr, "fuzz invariant violated: %s\n", what.c_str());
  std::abort();
}

inline bool valid_utf8(const std::string& s) {
  try {
    (void)nlohmann::json(s).dump();
    return true;
  } catch (const nlohmann::json::type_error&) {
    return false;
  }
}

// Text that ends up in PostgreSQL text/jsonb columns and in JSON answers: UTF-8 without NUL.
inline void check_storable(const std::string& s, const char* what) {
  if (!valid_utf8(s)) fail(std::string(what) + " is not valid UTF-8");
  if (s.find('\0') != std::string::npos) fail(std::string(what) + " contains a NUL byte");
}

inline void check_storable(const nlohmann::json& j, const char* what) {
  std::string dumped;
  try {
    dumped = j.dump();
  } catch (const nlohmann::json::type_error&) {
    fail(std::string(what) + " holds a string that is not valid UTF-8");
  }
  // jsonb refuses \u0000 in strings.
  if (dumped.find("\\u0000") != std::string::npos) fail(std::string(what) + " holds a NUL character");
}

// RFC 6749 Appendix A.12 / A.17: access and refresh tokens are 1*VSCHAR (%x20-7E).
inline bool vschar_only(const std::string& s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

inline void check_no_secret(const std::string& text, const char* what) {
  for (const auto& s : secrets()) {
    if (text.find(s) != std::string::npos) fail(std::string(what) + " contains a secret of the request");
  }
}

// What the refresher and the API rely on for any outcome of a platform parser.
inline void check_outcome(const Outcome& o) {
  check_storable(o.message, "Outcome::message");
  check_storable(o.code, "Outcome::code");
  check_no_secret(o.message, "Outcome::message");
  check_no_secret(o.code, "Outcome::code");
  if (o.retry_after && (o.retry_after->count() < 0 || o.retry_after->count() > platform_util::kMaxSeconds)) {
    fail("Outcome::retry_after out of range");
  }
  if (!o.ok()) return;
  const TokenResult& t = o.token;
  if (!vschar_only(t.access_token)) fail("access_token has characters outside VSCHAR");
  if (t.refresh_token && (t.refresh_token->empty() || !vschar_only(*t.refresh_token))) {
    fail("refresh_token is empty or has characters outside VSCHAR");
  }
  if (!vschar_only(t.token_type)) fail("token_type has characters outside VSCHAR");
  check_storable(t.account_id, "account_id");
  for (const auto& s : t.scopes) {
    if (s.empty()) fail("an empty scope");
    check_storable(s, "a scope");
  }
  check_storable(t.extra, "TokenResult::extra");
  for (const auto& lifetime : {t.expires_in, t.refresh_expires_in}) {
    if (lifetime && (lifetime->count() <= 0 || lifetime->count() > platform_util::kMaxSeconds)) {
      fail("a lifetime out of range");
    }
  }
}

// HTTP answers to try each fuzzed body with: the statuses that take different paths.
inline std::vector<ClientResponse> responses_for(const std::string& body) {
  std::vector<ClientResponse> out;
  for (int status : {200, 201, 302, 400, 401, 403, 404, 408, 429, 500, 503}) {
    ClientResponse r;
    r.status = status;
    r.body = body;
    if (status == 429 || status == 503)
      r.headers = {{"Retry-After", status == 429 ? "120" : "Wed, 21 Oct 2099 07:28:00 GMT"}};
    out.push_back(std::move(r));
  }
  ClientResponse none;
  none.error = "timeout";
  out.push_back(none);
  return out;
}

inline TimePoint fuzz_now() { return from_unix(1'900'000'000); }

}  // namespace mediax::fuzz
