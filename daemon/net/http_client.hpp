// Outgoing HTTP as an interface, so platform classes can be tested with a fake and the
// real client (cpp-httplib, kept out of headers) lives in one .cpp.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "util/time_source.hpp"

namespace mediax {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct ClientRequest {
  std::string method = "GET";  // GET, POST, PUT or DELETE (the last two: mediaxctl)
  std::string url;             // absolute: scheme://host[:port]/path?query
  HeaderList headers;
  std::string content_type;  // for POST and PUT
  std::string body;
};

struct ClientResponse {
  int status = 0;  // 0: no HTTP answer (see error)
  HeaderList headers;
  std::string body;
  std::string error;  // transport failure: "timeout", "connection", "tls", ... empty when status != 0

  std::string header(const std::string& name) const;  // case-insensitive, "" when absent
};

class HttpClient {
 public:
  virtual ~HttpClient() = default;
  // Sends one request; never throws for network errors (they come back in ClientResponse::error).
  virtual ClientResponse send(const ClientRequest& req) = 0;
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
};

// The real client (cpp-httplib, OpenSSL). Thread-safe: a call has a connection to itself, new or
// taken from the idle ones (keep_alive).
std::unique_ptr<HttpClient> make_http_client(const HttpClientOptions& opts);

}  // namespace mediax
