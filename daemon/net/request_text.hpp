// What goes on the wire for one request: the request line, the headers the client adds and the
// body. Pure, so the exact bytes a platform receives can be read (and tested) without a socket.
#pragma once

#include <string>

#include "net/http_client.hpp"
#include "util/url.hpp"

namespace mediax::net {

// The Host header's value: an IPv6 literal in brackets, the port unless it is the scheme's default.
std::string host_header(const ParsedUrl& url);

// The request written in one piece (head and body together: nothing waits for an ACK between
// them). Host, User-Agent and Accept, the request's headers (any with CR or LF in its name or
// value is left out: it would split the head), then for POST and PUT Content-Type (default
// application/x-www-form-urlencoded), Content-Length and the body; GET and DELETE carry no body.
// close: "Connection: close", for a connection that will not be kept (unless the request says).
std::string request_text(const HttpClientRequest& req, const ParsedUrl& url, const std::string& user_agent, bool close);

}  // namespace mediax::net
