// What every HttpClient shares, and the real one (net/async_http_client.hpp).
#include "net/http_client.hpp"

#include "net/async_http_client.hpp"
#include "util/strings.hpp"

namespace mediax {

std::string HttpClientResponse::header(const std::string& name) const {
  for (const auto& [k, v] : headers) {
    if (util::iequals(k, name)) return v;
  }
  return "";
}

bool HttpClientResponse::address_refused() const { return status == 0 && error == kAddressNotAllowed; }

std::unique_ptr<HttpClient> make_http_client(const HttpClientOptions& opts) { return make_async_http_client(opts); }

}  // namespace mediax
