// The service objects the admin API calls (service/); they outlive the handlers. Apart from
// http/admin_handlers.hpp so that code building them need not see http/message.hpp, whose
// HttpRequest/HttpResponse share their names with net/http_client.hpp's.
#pragma once

namespace mediax {

class Apps;
class ConnectFlow;
class Grants;
class TokenReads;

struct AdminServices {
  Apps& apps;
  ConnectFlow& connect;
  Grants& grants;
  TokenReads& reads;
};

}  // namespace mediax
