// What the audit trail records of a request to a route (pure): who (the accepted key's name),
// what (the route's operationId), the app and grant named by the route's parameters ({name} or
// {app}; {id} of a /v1/grants route), the peer's address and the result. Never the query string,
// the body or a header: codes, states, tokens and secrets live there.
#pragma once

#include <string>

#include "http/message.hpp"
#include "http/routes.hpp"
#include "store/audit_records.hpp"

namespace mediax {

// The longest a value taken from the request is kept in a record (the rest is cut, marked "…").
inline constexpr std::size_t kAuditFieldMax = 200;

AuditEntry audit_entry_of(const Route& route, const HttpRequest& req);

// The result recorded for an answer: its HTTP status as text ("204").
std::string audit_result(int status);

}  // namespace mediax
