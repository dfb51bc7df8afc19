#include "http/http_session.hpp"

#include <boost/beast/http/error.hpp>
#include <boost/beast/http/status.hpp>
#include <cctype>
#include <charconv>

#include "http/answers.hpp"
#include "util/strings.hpp"

namespace mediax {

namespace http = boost::beast::http;

namespace {

// Body bytes received but not parsed yet, beyond which a chunked body is refused: a chunk-size line
// (with extensions) or a trailer that never ends would otherwise grow the buffer without bound.
constexpr std::size_t kMaxUnparsedBody = 64 * 1024;
// The longest method a request line may start with for an over-long head to count as a long target (414).
constexpr std::size_t kMaxMethod = 32;

std::string_view reason(int status) {
  const auto s = http::obsolete_reason(http::int_to_status(static_cast<unsigned>(status)));
  if (s.empty() || s.front() == '<') return "Unknown";  // Beast's "<unknown-status>"
  return {s.data(), s.size()};
}

bool bodiless_status(int status) { return (status >= 100 && status < 200) || status == 204 || status == 304; }

bool server_header(std::string_view name) {
  return util::iequals(name, "Content-Length") || util::iequals(name, "Transfer-Encoding") ||
         util::iequals(name, "Connection") || util::iequals(name, "Content-Type");
}

bool splits_lines(std::string_view s) { return s.find_first_of("\r\n") != std::string_view::npos; }

// Strict percent-decoding of a path; nullopt on a bad escape or a NUL.
std::optional<std::string> decode_path(std::string_view p) {
  std::string out;
  out.reserve(p.size());
  for (std::size_t i = 0; i < p.size(); ++i) {
    if (p[i] != '%') {
      out += p[i];
      continue;
    }
    if (i + 2 >= p.size()) return std::nullopt;
    unsigned v = 0;
    const auto [end, ec] = std::from_chars(p.data() + i + 1, p.data() + i + 3, v, 16);
    if (ec != std::errc() || end != p.data() + i + 3 || v == 0) return std::nullopt;
    out += static_cast<char>(v);
    i += 2;
  }
  return out;
}

// Whether an over-long head is over-long because of its target: the request line has no end within
// the limit, and it starts with a method of sensible length.
bool long_target(std::string_view in, std::size_t limit) {
  const auto line_end = in.find('\n');
  if (line_end != std::string_view::npos && line_end < limit) return false;
  const auto space = in.find(' ');
  return space != std::string_view::npos && space > 0 && space <= kMaxMethod;
}

// Whether the request line at the front of in ends in a well-formed HTTP version: HTTP/<digit>.<digit>.
bool other_version(std::string_view in) {
  const auto line = in.substr(0, in.find_first_of("\r\n"));
  const auto version = line.substr(line.rfind(' ') + 1);
  return version.size() == 8 && version.substr(0, 5) == "HTTP/" &&
         std::isdigit(static_cast<unsigned char>(version[5])) && version[6] == '.' &&
         std::isdigit(static_cast<unsigned char>(version[7]));
}

}  // namespace

std::string serialize_response(const HttpResponse& r, const Framing& framing) {
  const bool bodiless = bodiless_status(r.status);
  std::string out;
  out.reserve(128 + r.body.size() + r.content_type.size() + r.headers.size() * 48);
  out += "HTTP/1.1 ";
  out += std::to_string(r.status);
  out += ' ';
  out += reason(r.status);
  out += "\r\n";
  if (!r.content_type.empty() && !splits_lines(r.content_type)) {
    out += "Content-Type: ";
    out += r.content_type;
    out += "\r\n";
  }
  if (!bodiless) {
    out += "Content-Length: ";
    out += std::to_string(r.body.size());
    out += "\r\n";
  }
  for (const auto& [name, value] : r.headers) {
    if (name.empty() || server_header(name) || splits_lines(name) || splits_lines(value)) continue;
    out += name;
    out += ": ";
    out += value;
    out += "\r\n";
  }
  if (framing.close) {
    out += "Connection: close\r\n";
  } else if (framing.keep_alive) {
    out += "Connection: keep-alive\r\n";
  }
  out += "\r\n";
  if (!framing.head && !bodiless) out += r.body;
  return out;
}

std::string refusal_bytes(int status, const std::string& code, const std::string& message) {
  HttpResponse r;
  r.error(status, code, message);
  return serialize_response(r, Framing{.close = true});
}

HttpSession::HttpSession(const SessionLimits& limits, MonoTime opened)
    : limits_(limits), opened_(opened), since_(opened) {}

void HttpSession::received(std::string_view bytes, MonoTime now) {
  if (closing_ || bytes.empty()) return;
  in_.append(bytes);
  // RFC 9112 §2.2: empty lines before a request line are ignored (and start no head deadline).
  if (state_ == State::idle) {
    const auto start = in_.find_first_not_of("\r\n");
    in_.erase(0, start == std::string::npos ? in_.size() : start);
    if (!in_.empty()) start_head(first_request_ ? opened_ : now);
  }
}

void HttpSession::start_head(MonoTime since) {
  state_ = State::head;
  since_ = since;
  head_bytes_ = 0;
  parser_.emplace();
  parser_->header_limit(static_cast<std::uint32_t>(limits_.max_head_bytes));
  parser_->body_limit(limits_.max_body_bytes);
  parser_->eager(false);  // stop after the head: it is checked before any body is read
}

HttpSession::Next HttpSession::advance(MonoTime now) {
  if (closing_) return Next::close;
  if (state_ == State::answering) return Next::request;
  if (state_ == State::idle) {
    if (in_.empty()) return Next::read;
    start_head(now);  // a pipelined request, received before its predecessor was answered
  }
  if (state_ == State::head) {
    const auto next = parse_head(now);
    if (state_ != State::body) return next;
  }
  return parse_body();
}

HttpSession::Next HttpSession::parse_head(MonoTime now) {
  boost::system::error_code ec;
  const auto used = parser_->put(boost::asio::buffer(in_), ec);
  in_.erase(0, used);
  head_bytes_ += used;
  // Beast takes the request line and whole fields off the front as they come and applies its
  // header_limit to what is left, so the head as a whole is counted here.
  if (ec == http::error::header_limit) return refuse_long_head();
  if (ec == http::error::need_more) {
    return head_bytes_ + in_.size() > limits_.max_head_bytes ? refuse_long_head() : Next::read;
  }
  if (ec) return refuse_parse(ec);
  if (!parser_->is_header_done()) return Next::read;
  if (auto refused = check_head()) return *refused;
  state_ = State::body;
  since_ = now;
  parser_->eager(true);
  // RFC 9110 §10.1.1: the client waits for this before sending the body (not sent to HTTP/1.0, nor
  // when some of the body is here already).
  const auto& h = parser_->get();
  const auto expect = h[http::field::expect];
  if (!parser_->is_done() && in_.empty() && h.version() == 11 &&
      util::iequals(util::trim({expect.data(), expect.size()}, " \t"), "100-continue")) {
    out_ += "HTTP/1.1 100 Continue\r\n\r\n";
  }
  return Next::read;
}

HttpSession::Next HttpSession::parse_body() {
  while (!parser_->is_done()) {
    if (in_.empty()) return Next::read;
    boost::system::error_code ec;
    const auto used = parser_->put(boost::asio::buffer(in_), ec);
    in_.erase(0, used);
    if (ec == http::error::need_more) {
      if (in_.size() > kMaxUnparsedBody) {
        return refuse(400, "bad_request", "malformed HTTP request: a chunk header or trailer is too long");
      }
      return Next::read;
    }
    if (ec) return refuse_parse(ec);
  }
  return finish_request();
}

std::optional<HttpSession::Next> HttpSession::check_head() {
  const auto& h = parser_->get();
  if (h.version() != 10 && h.version() != 11) {
    return refuse(505, "http_version_not_supported", "HTTP/1.0 and HTTP/1.1 only");
  }
  const std::string_view target(h.target().data(), h.target().size());
  if (target.empty() || target.front() != '/') {
    return refuse(400, "bad_request", "malformed HTTP request: the target must be a path (origin form)");
  }
  // Beast refuses Transfer-Encoding with Content-Length or twice (400, bad_transfer_encoding: RFC 9112
  // §6.1, request smuggling); it de-chunks when chunked is the last coding. Any other coding, alone or
  // before chunked, is one this server does not decode: 501 (RFC 9112 §6.1).
  for (const auto& f : h) {
    if (f.name() != http::field::transfer_encoding) continue;
    const std::string_view v(f.value().data(), f.value().size());
    if (!util::iequals(util::trim(v, " \t"), "chunked")) {
      return refuse(501, "not_implemented", "a request body may be chunked, in no other transfer coding");
    }
  }
  // As the admin API did before: a compressed body could inflate far past the body limit.
  const auto encoding = h[http::field::content_encoding];
  if (!encoding.empty() && !util::iequals(util::trim({encoding.data(), encoding.size()}, " \t"), "identity")) {
    return refuse(415, "unsupported_encoding", "compressed request bodies (Content-Encoding) are not accepted");
  }
  return std::nullopt;
}

HttpSession::Next HttpSession::finish_request() {
  auto& msg = parser_->get();
  request_ = HttpRequest{};
  request_.method.assign(msg.method_string().data(), msg.method_string().size());
  request_.target.assign(msg.target().data(), msg.target().size());
  const std::string_view target = request_.target;
  const auto q = target.find('?');
  auto path = decode_path(target.substr(0, std::min(q, target.find('#'))));
  if (!path) return refuse(400, "bad_request", "malformed HTTP request: bad percent-encoding in the path");
  request_.path = std::move(*path);
  if (q != std::string_view::npos) request_.query.assign(target.substr(q + 1, target.find('#', q) - q - 1));
  request_.headers.reserve(8);
  for (const auto& f : msg) {
    request_.headers.emplace_back(std::string(f.name_string().data(), f.name_string().size()),
                                  std::string(f.value().data(), f.value().size()));
  }
  request_.body = std::move(msg.body());
  framing_ = Framing{.head = request_.method == "HEAD", .close = !msg.keep_alive(), .keep_alive = false};
  framing_.keep_alive = msg.version() == 10 && !framing_.close;
  parser_.reset();
  state_ = State::answering;
  return Next::request;
}

void HttpSession::respond(const HttpResponse& answer, MonoTime now) {
  if (state_ != State::answering) return;
  Framing f = framing_;
  if (answer.close) {
    f.close = true;
    f.keep_alive = false;
  }
  out_ += serialize_response(answer, f);
  request_ = HttpRequest{};
  first_request_ = false;
  if (f.close) {
    state_ = State::closing;
    closing_ = true;
    return;
  }
  state_ = State::idle;
  since_ = now;
}

void HttpSession::sent(MonoTime now) {
  if (state_ == State::idle && in_.empty() && !first_request_) since_ = now;
}

HttpSession::Next HttpSession::refuse(int status, const std::string& code, const std::string& message) {
  out_ += refusal_bytes(status, code, message);
  refused_ = status;
  closing_ = true;
  state_ = State::closing;
  in_.clear();
  parser_.reset();
  return Next::close;
}

HttpSession::Next HttpSession::refuse_long_head() {
  // A request line taken off already fitted the limit: then the fields are what is too large.
  if (head_bytes_ == 0 && long_target(in_, limits_.max_head_bytes)) {
    return refuse(414, "uri_too_long",
                  "the request target is longer than " + std::to_string(limits_.max_head_bytes) + " bytes");
  }
  return refuse(431, "headers_too_large",
                "the request head is larger than " + std::to_string(limits_.max_head_bytes) + " bytes");
}

HttpSession::Next HttpSession::refuse_parse(const boost::system::error_code& ec) {
  // Beast takes HTTP/1.0 and 1.1 only and calls any other version malformed; a well-formed other
  // version (HTTP/2.0, HTTP/0.9) is 505 (RFC 9110 §15.6.6).
  if (ec == http::error::bad_version && other_version(in_)) {
    return refuse(505, "http_version_not_supported", "HTTP/1.0 and HTTP/1.1 only");
  }
  if (ec == http::error::body_limit) {
    return refuse(413, "too_large", "the request body is larger than the limit");
  }
  // Beast's own description of what is wrong ("bad method", "bad chunk"): never the request's text.
  return refuse(400, "bad_request", "malformed HTTP request: " + ec.message());
}

MonoTime HttpSession::deadline() const {
  switch (state_) {
    case State::idle: return since_ + (first_request_ ? limits_.header_timeout : limits_.idle_timeout);
    case State::head: return since_ + limits_.header_timeout;
    case State::body: return since_ + limits_.body_timeout;
    case State::answering:
    case State::closing: return MonoTime::max();
  }
  return MonoTime::max();
}

HttpSession::Phase HttpSession::phase() const {
  switch (state_) {
    case State::idle: return first_request_ ? Phase::head : Phase::idle;
    case State::body: return Phase::body;
    default: return Phase::head;
  }
}

}  // namespace mediax
