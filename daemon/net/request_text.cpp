#include "net/request_text.hpp"

#include <algorithm>
#include <string_view>

#include "util/strings.hpp"
#include "util/url.hpp"

namespace mediax::net {

namespace {

bool splits_head(std::string_view s) { return s.find_first_of("\r\n") != std::string_view::npos; }

bool has_header(const HeaderList& headers, std::string_view name) {
  return std::any_of(headers.begin(), headers.end(), [&](const auto& h) { return util::iequals(h.first, name); });
}

// parse_url has refused spaces and control characters; bytes past ASCII are escaped so the request
// line stays ASCII (as cpp-httplib, the client before this one, did).
std::string ascii_target(const std::string& target) {
  return percent_encode(target, [](unsigned char u) { return u < 0x80; });
}

void add(std::string& out, std::string_view name, std::string_view value) {
  out.append(name).append(": ").append(value).append("\r\n");
}

}  // namespace

std::string host_header(const ParsedUrl& url) {
  std::string h = url.host.find(':') != std::string::npos ? "[" + url.host + "]" : url.host;
  const bool default_port = (url.scheme == "https" && url.port == 443) || (url.scheme == "http" && url.port == 80);
  if (!default_port) h += ":" + std::to_string(url.port);
  return h;
}

std::string request_text(const HttpClientRequest& req, const ParsedUrl& url, const std::string& user_agent,
                         bool close) {
  const bool with_body = req.method == "POST" || req.method == "PUT";
  std::string out;
  out.reserve(256 + req.body.size());
  out.append(req.method).append(" ").append(ascii_target(url.target)).append(" HTTP/1.1\r\n");
  add(out, "Host", host_header(url));
  if (!user_agent.empty() && !splits_head(user_agent)) add(out, "User-Agent", user_agent);
  if (!has_header(req.headers, "Accept")) add(out, "Accept", "*/*");
  for (const auto& [name, value] : req.headers) {
    if (name.empty() || splits_head(name) || splits_head(value)) continue;
    add(out, name, value);
  }
  if (with_body) {
    const std::string& type = req.content_type.empty() ? "application/x-www-form-urlencoded" : req.content_type;
    if (!splits_head(type)) add(out, "Content-Type", type);
    add(out, "Content-Length", std::to_string(req.body.size()));
  }
  if (close && !has_header(req.headers, "Connection")) add(out, "Connection", "close");
  out.append("\r\n");
  if (with_body) out.append(req.body);
  return out;
}

}  // namespace mediax::net
