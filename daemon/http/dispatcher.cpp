#include "http/dispatcher.hpp"

#include <spdlog/spdlog.h>

#include "http/admin_handlers.hpp"
#include "http/answers.hpp"
#include "http/auth.hpp"
#include "http/auth_guard.hpp"
#include "http/route_audit.hpp"
#include "service/audit_trail.hpp"
#include "service/api_keys.hpp"

namespace mediax {

namespace {

std::string_view where_text(ListenerKind where) { return where == ListenerKind::token ? " (token listener)" : ""; }

HttpResponse logged(HttpResponse res, const HttpRequest& req, ListenerKind where) {
  // The path only: query strings carry codes and states.
  spdlog::debug("http {} {} -> {}{}", req.method, req.path, res.status, where_text(where));
  return res;
}

HttpResponse refusal(const AuthRefusal& r) {
  HttpResponse res;
  res.error(r.status, r.code, r.message);
  if (r.status == 401) res.set_header("WWW-Authenticate", r.www_authenticate());
  return res;
}

// "a", "a and b", "a, b and c".
std::string spoken_list(const std::vector<std::string>& items) {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += i + 1 == items.size() ? " and " : ", ";
    out += items[i];
  }
  return out;
}

// The methods of other_methods, with HEAD after GET (a GET route answers HEAD).
std::vector<std::string> allowed_methods(const std::vector<std::string_view>& other_methods) {
  std::vector<std::string> out;
  for (const auto m : other_methods) {
    out.emplace_back(m);
    if (m == "GET") out.emplace_back("HEAD");
  }
  return out;
}

HttpResponse not_on_token_listener(const HttpRequest& req, std::span<const Route> routes) {
  std::vector<std::string> served;
  for (const auto& r : routes) {
    if (r.token_listener) served.push_back(std::string(r.method) + " " + std::string(r.pattern));
  }
  HttpResponse res;
  res.error(404, "not_found",
            "no route for " + req.method + " " + req.path + " on the token listener (admin.token_listen): it serves " +
                spoken_list(served) + "; the rest of the API is on admin.listen");
  return res;
}

HttpResponse method_not_allowed(const std::vector<std::string_view>& other_methods) {
  const auto allowed = allowed_methods(other_methods);
  std::string allow;
  for (const auto& m : allowed) allow += (allow.empty() ? "" : ", ") + m;
  HttpResponse res;
  res.error(405, "method_not_allowed", "the token listener serves " + spoken_list(allowed) + " only");
  res.set_header("Allow", allow);
  return res;
}

HttpResponse answer_for_current_exception(const HttpRequest& req, ListenerKind where) {
  try {
    throw;
  } catch (const std::exception&) {
    const auto e = error_for_current_exception(req.method, req.path, where_text(where));
    HttpResponse res;
    res.json(e.status, e.body);
    return res;
  } catch (...) {
    spdlog::error("{} {}{}: internal error: unknown exception", req.method, req.path, where_text(where));
    HttpResponse res;
    res.error(500, "internal_error", "internal error; see the daemon's log");
    return res;
  }
}

HttpResponse too_many_failures(const AuthFailureGuard& guard, std::chrono::seconds wait) {
  HttpResponse res;
  res.error(429, "rate_limited",
            "too many failed authentications from this address (" + std::to_string(guard.config().failures_per_peer) +
                " within " + std::to_string(guard.config().window.count()) +
                " s, security.auth_failures_per_peer); every route that needs a key answers 429 here until " +
                std::to_string(wait.count()) + " s from now",
            {{"retry_after_seconds", wait.count()}});
  res.set_header("Retry-After", std::to_string(wait.count()));
  return res;
}

// Everything but the handler call: the answer when the request is refused or no route serves it,
// nullopt to go on to the route. on_pool: the key may be checked against the store (blocks);
// otherwise only a key in memory is checked, and `unknown` says the check needs the pool.
std::optional<HttpResponse> gate(ApiKeyRegistry* keys, const GatePolicy& policy, std::span<const Route> routes,
                                 HttpRequest& req, ListenerKind where, const RouteMatch& m, bool on_pool,
                                 bool& needs_pool) {
  needs_pool = false;
  switch (gate_of(m, where, policy.metrics_need_key)) {
    case Gate::not_served: return not_on_token_listener(req, routes);
    case Gate::method_not_allowed: return method_not_allowed(m.other_methods);
    case Gate::open: break;
    case Gate::key: {
      if (keys == nullptr) break;
      auto* guard = policy.failures;
      if (guard != nullptr) {
        if (const auto wait = guard->wait(req.peer); wait.count() > 0) return too_many_failures(*guard, wait);
      }
      const auto failed = [&] {
        if (guard != nullptr) guard->failed(req.peer, req.method, req.path);
      };
      const std::string key = bearer_key(std::string(req.header("Authorization")));
      if (key.empty()) {
        failed();
        return refusal(refuse_no_key(req.method, req.path));
      }
      std::optional<ApiKeyMatch> match;
      if (on_pool) {
        try {
          match = keys->check(key);
        } catch (const std::exception& e) {
          return refusal(refuse_unchecked(req.method, req.path, e));
        }
      } else if (m.route != nullptr && m.route->fast == nullptr) {
        // Answered on the pool, whose gate checks the key: hashing it here too would be twice.
        // (Refusals that need no key check, above, stay on the event loop.)
        needs_pool = true;
        return std::nullopt;
      } else {
        match = keys->check_if_loaded(key);
        if (!match) {
          needs_pool = true;
          return std::nullopt;
        }
      }
      if (auto refused = refuse_match(req.method, req.path, required_access(m.route, policy.metrics_need_key),
                                      *match)) {
        if (refused->status == 401) failed();  // unknown or revoked; a reader on an admin route is no failure
        req.caller = match->name;  // for the audit trail: who was refused ("" for an unknown key)
        return refusal(*refused);
      }
      req.caller = match->name;
      req.caller_apps = std::move(match->apps);
      break;
    }
  }
  if (m.route == nullptr) {
    HttpResponse res;
    res.error(404, "not_found", "no route for " + req.method + " " + req.path);
    return res;
  }
  return std::nullopt;
}

// A refused request (401, 403, ...) to a route the trail audits: counted with the token reads
// on their route (the event loop must not wait), else recorded after the fact.
void audit_refusal(AuditTrail* audit, const RouteMatch& m, const HttpRequest& req, const HttpResponse& res) {
  if (audit == nullptr || m.route == nullptr || m.route->audit == AuditAs::none) return;
  auto e = audit_entry_of(*m.route, req);
  e.result = audit_result(res.status);
  if (m.route->audit == AuditAs::counted) {
    audit->count(e);
  } else {
    audit->record(e);
  }
}

HttpResponse audit_unavailable(const std::exception& e, const Route& route) {
  spdlog::error("audit: no record could be written for {}: refused (503): {}", route.operation_id, e.what());
  HttpResponse res;
  if (dynamic_cast<const DatabaseUnreachableError*>(&e) != nullptr) {
    // The common case, and the one clients already handle: the database is away.
    res.error(503, "database_unavailable", "the database is unavailable; try again shortly");
    return res;
  }
  res.error(503, "audit_unavailable",
            "the audit trail cannot be written (the database refuses mediax.audit); the request was not "
            "carried out: try again shortly");
  return res;
}

}  // namespace

Dispatcher::Dispatcher(AdminHandlers& handlers, ApiKeyRegistry* keys, std::span<const Route> routes, GatePolicy policy)
    : handlers_(handlers), keys_(keys), routes_(routes), policy_(policy) {}

std::optional<HttpResponse> Dispatcher::answer_now(HttpRequest& req, ListenerKind where) {
  try {
    auto m = match_route(routes_, req.method, req.path, where == ListenerKind::token);
    // An action's record is written before it runs: that waits on the database, so on the pool.
    if (audit_ != nullptr && m.route != nullptr && m.route->audit == AuditAs::action) return std::nullopt;
    bool needs_pool = false;
    if (auto res = gate(keys_, policy_, routes_, req, where, m, false, needs_pool)) {
      req.params = std::move(m.params);
      audit_refusal(audit_, m, req, *res);
      return logged(std::move(*res), req, where);
    }
    if (needs_pool || m.route->fast == nullptr) return std::nullopt;
    req.params = std::move(m.params);
    if (auto res = (handlers_.*(m.route->fast))(req)) {
      if (audit_ != nullptr && m.route->audit == AuditAs::counted) {
        auto e = audit_entry_of(*m.route, req);
        e.result = audit_result(res->status);
        audit_->count(e);
      }
      return logged(std::move(*res), req, where);
    }
    return std::nullopt;
  } catch (...) {
    return logged(answer_for_current_exception(req, where), req, where);
  }
}

HttpResponse Dispatcher::answer(HttpRequest& req, ListenerKind where) {
  try {
    auto m = match_route(routes_, req.method, req.path, where == ListenerKind::token);
    bool needs_pool = false;
    if (auto res = gate(keys_, policy_, routes_, req, where, m, true, needs_pool)) {
      req.params = std::move(m.params);
      audit_refusal(audit_, m, req, *res);
      return logged(std::move(*res), req, where);
    }
    req.params = std::move(m.params);
    const AuditAs audit = audit_ == nullptr ? AuditAs::none : m.route->audit;
    AuditEntry entry;
    std::int64_t record = 0;
    if (audit != AuditAs::none) entry = audit_entry_of(*m.route, req);
    if (audit == AuditAs::action) {
      try {
        record = audit_->begin(entry);
      } catch (const std::exception& e) {
        return logged(audit_unavailable(e, *m.route), req, where);
      }
    }
    HttpResponse res;
    try {
      (handlers_.*(m.route->handler))(req, res);
    } catch (...) {
      res = answer_for_current_exception(req, where);
    }
    if (audit == AuditAs::action) audit_->finish(record, audit_result(res.status));
    if (audit == AuditAs::counted) {
      entry.result = audit_result(res.status);
      audit_->count(entry);
    }
    return logged(std::move(res), req, where);
  } catch (...) {
    return logged(answer_for_current_exception(req, where), req, where);
  }
}

}  // namespace mediax
