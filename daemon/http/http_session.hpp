// One HTTP/1.x connection's protocol, without sockets (sans-IO): bytes in, with the time they
// arrived, give requests out (HttpRequest) or refusals; answers (HttpResponse) give bytes out. The
// server (http/http_server.cpp) does the reading, writing, timers and handler calls around it; the
// unit tests and the fuzz target drive it directly. Parsing is Boost.Beast's request parser.
//
// RFC 9112: a request without Content-Length and without chunking has an empty body (§6.3);
// chunked bodies are de-chunked within the body limit; Expect: 100-continue gets "100 Continue"
// before the body is read (or the final 413 when Content-Length is over the limit); HTTP/1.0 is
// closed after its answer unless it asked for keep-alive; pipelined requests are answered in order.
// Any refused request closes the connection after its answer.
#pragma once

#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "http/message.hpp"
#include "util/time_source.hpp"

namespace mediax {

struct SessionLimits {
  std::chrono::milliseconds header_timeout{10'000};  // a request's head, from its first byte (or the accept)
  std::chrono::milliseconds body_timeout{30'000};    // its body, from the end of the head
  std::chrono::milliseconds idle_timeout{5'000};     // between an answer and the next request's first byte
  std::size_t max_head_bytes = 8192;                 // request line and header fields
  std::size_t max_body_bytes = 1 << 20;              // Content-Length or de-chunked
};

// How the answer to a request is framed on the wire.
struct Framing {
  bool head = false;        // HEAD: no body, but the Content-Length of the GET's
  bool close = false;       // "Connection: close" and the connection ends after it
  bool keep_alive = false;  // "Connection: keep-alive" (an HTTP/1.0 client that asked for it)
};

// The answer's bytes: status line with its reason, Content-Type when set, Content-Length (not for
// 1xx, 204, 304), the response's own headers (Content-Length, Transfer-Encoding and Connection among
// them are the server's: dropped, as is any header with a CR or LF, which would split the answer),
// then Connection as framed; nothing else.
std::string serialize_response(const HttpResponse& r, const Framing& framing);

// The answer to a request refused before any handler saw it: {"error": code, "message": message},
// closing the connection.
std::string refusal_bytes(int status, const std::string& code, const std::string& message);

class HttpSession {
 public:
  enum class Next {
    read,     // wait for more bytes, until deadline(); write output() first when it holds any
    request,  // request() is complete: answer it with respond() (nothing else is parsed meanwhile)
    close,    // write output() when it holds any, then close the connection
  };
  // What a deadline cut (for the server's metrics and logs).
  enum class Phase {
    idle,  // no request under way: a kept-alive connection with nothing to say
    head,  // a request's head (a fresh connection's first one included)
    body,  // a request's body
  };

  // `opened`: when the connection was accepted; its first request's head is due header_timeout later.
  HttpSession(const SessionLimits& limits, MonoTime opened);

  // Bytes read from the connection at `now`.
  void received(std::string_view bytes, MonoTime now);
  // Parses what was received so far and says what the connection does next. `now` starts the
  // deadlines of what it finds (a pipelined request's head, a body after its head).
  Next advance(MonoTime now);
  // The request advance() returned Next::request for. The handler may modify it (params).
  HttpRequest& request() { return request_; }
  // The answer to request(); the session then parses what follows it (advance() again).
  void respond(const HttpResponse& answer, MonoTime now);

  // Bytes for the connection to write, in order; the server takes them (clear or swap).
  std::string& output() { return out_; }
  // output() was written at `now`: a kept-alive connection is idle from then.
  void sent(MonoTime now);

  // When the connection is closed unless more arrives: the head, body or idle deadline of where the
  // session stands; MonoTime::max() while a request is being answered or once it is closing.
  MonoTime deadline() const;
  // Where the session stands (which deadline applies).
  Phase phase() const;
  // The status of the refusal that closes the connection (400, 413, 414, 415, 431, 501, 505), 0 when none.
  int refused() const { return refused_; }
  bool closing() const { return closing_; }

 private:
  using Parser = boost::beast::http::request_parser<boost::beast::http::string_body>;
  enum class State { idle, head, body, answering, closing };

  Next refuse(int status, const std::string& code, const std::string& message);
  // The refusal for a Beast parse error.
  Next refuse_parse(const boost::system::error_code& ec);
  // A head over max_head_bytes: 414 when the request line is what does not fit, else 431.
  Next refuse_long_head();
  // The head is complete: what RFC 9112 and this server refuse, before the body is read; nullopt = go on.
  std::optional<Next> check_head();
  void start_head(MonoTime now);
  Next finish_request();
  Next parse_head(MonoTime now);
  Next parse_body();

  SessionLimits limits_;
  State state_ = State::idle;
  bool first_request_ = true;  // a fresh connection: its idle time counts as head time
  MonoTime opened_;
  MonoTime since_;              // when the current state's deadline started
  std::string in_;              // received, not parsed yet
  std::size_t head_bytes_ = 0;  // of the current head, taken by the parser already
  std::string out_;             // to write
  std::optional<Parser> parser_;
  HttpRequest request_;
  Framing framing_;  // of the request being answered
  bool closing_ = false;
  int refused_ = 0;
};

}  // namespace mediax
