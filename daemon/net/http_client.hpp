// Outgoing HTTP as an interface, so platform classes can be tested with a fake and the
// real client (net/async_http_client.hpp: Boost.Beast, kept out of this header) lives apart.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "util/time_source.hpp"

namespace mediax {

class OutboundGuard;

using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct HttpClientRequest {
  std::string method = "GET";  // GET, POST, PUT or DELETE (the last two: mediaxctl)
  std::string url;             // absolute: scheme://host[:port]/path?query
  HeaderList headers;
  std::string content_type;  // for POST and PUT
  std::string body;
};

struct HttpClientResponse {
  int status = 0;  // 0: no HTTP answer (see error)
  HeaderList headers;
  std::string body;
  std::string error;  // transport failure: "timeout", "connection", "tls", ... empty when status != 0
  // Why, when error needs words: for kAddressNotAllowed the host, the address and the rule
  // (net/outbound_guard.hpp), never the URL's path or query.
  std::string error_detail;

  std::string header(const std::string& name) const;  // case-insensitive, "" when absent
  // The outbound guard refused the destination: no connection was made, and trying again cannot
  // help until the URL or security.allowed_private_networks changes.
  bool address_refused() const;
};

// HttpClientResponse::error when the outbound guard refused the destination.
inline constexpr const char* kAddressNotAllowed = "address_not_allowed";

class HttpClient {
 public:
  virtual ~HttpClient() = default;
  // Sends one request; never throws for network errors (they come back in HttpClientResponse::error).
  virtual HttpClientResponse send(const HttpClientRequest& req) = 0;
};

struct HttpClientOptions {
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds read_timeout{15000};
  // The whole call (connect, send, every byte of the answer); 0 = no limit but the per-read one.
  // A server that trickles its answer a byte at a time never trips a read timeout: this does.
  // An exceeded deadline comes back as error "timeout".
  std::chrono::milliseconds total_timeout{0};
  // Keep-alive: a connection whose call succeeded waits this long for the next call to the same
  // origin (scheme, host, port) instead of being closed; 0 = a new connection for every call.
  // Shorter than the usual server idle timeouts (5 s and up), so the server rarely closes first.
  std::chrono::seconds keep_alive{0};
  std::size_t max_idle_per_origin = 256;  // idle connections kept per origin; the rest are closed
  std::string user_agent = "mediaxd";
  bool verify_tls = true;
  std::string ca_file;  // empty: system default
  // What the total deadline and the keep-alive idling are measured on; null: the real clocks.
  const TimeSource* time = nullptr;
  // Checks each new connection's destination and pins the checked address (the host name still
  // goes in Host, SNI and the certificate check). Null: no check (mediaxctl, the tests' fakes).
  const OutboundGuard* outbound = nullptr;
};

// The real client (make_async_http_client: Boost.Beast over Asio, OpenSSL). Thread-safe: a call has a
// connection to itself, new or taken from the idle ones (keep_alive).
std::unique_ptr<HttpClient> make_http_client(const HttpClientOptions& opts);

}  // namespace mediax
