// The service objects the admin API calls (service/); they outlive the handlers. A header of its
// own: what builds them (runtime/) needs neither the handlers nor HttpRequest/HttpResponse.
#pragma once

namespace mediax {

class Apps;
class AuditTrail;
class ConnectFlow;
class Grants;
class TokenReads;

struct AdminServices {
  Apps& apps;
  ConnectFlow& connect;
  Grants& grants;
  TokenReads& reads;
  AuditTrail* audit = nullptr;  // GET /v1/audit and the Dispatcher's records; none: 404 (tests)
};

}  // namespace mediax
