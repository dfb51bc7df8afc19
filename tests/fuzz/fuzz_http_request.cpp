// The server's request path (http/http_session.hpp) fed raw bytes, in pieces whose sizes the input
// chooses, each request routed with match_route on the route table (http/routes.hpp) by a handler
// that answers from the match alone (no AdminHandlers). Invariants: no crash; every input ends
// answered or closed (a connection waiting for bytes always has a deadline, a closing one has said
// why, every request got an answer); an Authorization header's value never appears in the output.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "http/http_session.hpp"
#include "http/routes.hpp"
#include "util/strings.hpp"

using namespace mediax;

namespace fuzz {

// Not fuzz_check.hpp: it reaches net/'s HttpRequest and HttpResponse, which http/message.hpp's
// would clash with in this file.
[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "fuzz invariant violated: %s\n", what);
  std::abort();
}

}  // namespace fuzz

namespace {

// A key the seeds carry in Authorization (the fuzzer keeps it around as it mutates them).
constexpr std::string_view kKey = "mxk_fuzzkey_0123456789abcdef";

// What the Dispatcher would decide from the route alone: 404, 405, or which operation answers.
HttpResponse route(HttpRequest& req, bool token_listener) {
  HttpResponse r;
  const auto m = match_route(route_table(), req.method, req.path, token_listener);
  if (m.route == nullptr) {
    if (m.other_methods.empty()) {
      r.error(404, "not_found", "no route");
    } else {
      std::string allow;
      for (auto method : m.other_methods) allow += (allow.empty() ? "" : ", ") + std::string(method);
      r.error(405, "method_not_allowed", "method not allowed");
      r.set_header("Allow", allow);
    }
    return r;
  }
  if (!m.route->token_listener && token_listener) fuzz::fail("match_route gave a route the token listener lacks");
  req.params = m.params;
  r.json(200, {{"operation", std::string(m.route->operation_id)}, {"params", m.params.size()}});
  if (req.body.size() % 7 == 3) r.close = true;  // the answer may close the connection too
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const bool token_listener = (data[0] & 1) != 0;
  const std::size_t piece = 1 + data[1] % 64;  // bytes per read: the head and body arrive in pieces
  std::string_view input(reinterpret_cast<const char*>(data + 2), size - 2);

  SessionLimits limits;
  limits.max_head_bytes = 2048;
  limits.max_body_bytes = 4096;
  MonoTime now{std::chrono::hours(1)};
  HttpSession session(limits, now);
  std::string output;
  std::vector<std::string> authorizations;
  auto next = HttpSession::Next::read;
  while (next != HttpSession::Next::close) {
    next = session.advance(now);
    if (next == HttpSession::Next::request) {
      auto& req = session.request();
      if (req.path.empty() || req.path.front() != '/') fuzz::fail("a request path that is not absolute");
      // Keys look like mxk_...: a text no fixed part of an answer holds, so finding it there is a leak.
      for (const auto& [name, value] : req.headers) {
        if (util::iequals(name, "authorization") && value.find("mxk_") != std::string::npos) {
          authorizations.push_back(value);
        }
      }
      session.respond(route(req, token_listener), now);
      continue;
    }
    output += session.output();
    session.output().clear();
    if (next == HttpSession::Next::close) break;
    if (session.deadline() == MonoTime::max()) fuzz::fail("waiting for bytes without a deadline");
    if (input.empty()) break;
    const auto n = std::min(piece, input.size());
    now += std::chrono::milliseconds(1);
    session.received(input.substr(0, n), now);
    input.remove_prefix(n);
  }
  output += session.output();
  if (session.closing() && output.empty()) fuzz::fail("closed without an answer");
  if (session.refused() != 0 &&
      output.find("HTTP/1.1 " + std::to_string(session.refused()) + " ") == std::string::npos) {
    fuzz::fail("a refusal whose answer was not written");
  }
  if (output.find(kKey) != std::string::npos) fuzz::fail("the API key of a request came back in an answer");
  for (const auto& a : authorizations) {
    if (output.find(a) != std::string::npos) fuzz::fail("an Authorization header's value came back in an answer");
  }
  return 0;
}
