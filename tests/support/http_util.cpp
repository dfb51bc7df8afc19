#include "support/http_util.hpp"

#include <httplib.h>

#include <cctype>

namespace mediax::test {

namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

std::string HttpResult::header(const std::string& name) const {
  auto it = headers.find(lower(name));
  return it == headers.end() ? "" : it->second;
}

nlohmann::json HttpResult::json() const { return nlohmann::json::parse(body, nullptr, false); }

std::string HttpResult::describe() const {
  if (status == 0) return "no HTTP answer: " + error;
  return "HTTP " + std::to_string(status) + ": " + (body.size() > 2000 ? body.substr(0, 2000) + "..." : body);
}

std::optional<Url> parse_url(const std::string& url) {
  Url u;
  auto scheme_end = url.find("://");
  if (scheme_end == std::string::npos) return std::nullopt;
  u.scheme = lower(url.substr(0, scheme_end));
  if (u.scheme != "http") return std::nullopt;  // tests talk plain HTTP on loopback only
  std::string rest = url.substr(scheme_end + 3);
  auto slash = rest.find_first_of("/?");
  std::string authority = rest.substr(0, slash);
  u.target = slash == std::string::npos ? "/" : rest.substr(slash);
  if (u.target[0] == '?') u.target = "/" + u.target;
  auto colon = authority.rfind(':');
  if (colon != std::string::npos && authority.find(']') == std::string::npos) {
    u.host = authority.substr(0, colon);
    u.port = std::atoi(authority.c_str() + colon + 1);
  } else {
    u.host = authority;
    u.port = 80;
  }
  if (u.host.empty() || u.port <= 0) return std::nullopt;
  auto q = u.target.find('?');
  u.path = u.target.substr(0, q);
  u.query = q == std::string::npos ? "" : u.target.substr(q + 1);
  auto hash = u.query.find('#');
  if (hash != std::string::npos) u.query.resize(hash);
  return u;
}

HttpResult http_request(const std::string& method, const std::string& url, const std::string& body,
                        const std::string& content_type, const HttpHeaders& headers,
                        std::chrono::milliseconds timeout) {
  HttpResult out;
  auto u = parse_url(url);
  if (!u) {
    out.error = "bad url: " + url;
    return out;
  }
  httplib::Client cli(u->host, u->port);
  auto secs = std::chrono::duration_cast<std::chrono::seconds>(timeout);
  auto usecs = std::chrono::duration_cast<std::chrono::microseconds>(timeout - secs);
  cli.set_connection_timeout(5, 0);
  cli.set_read_timeout(secs.count(), usecs.count());
  cli.set_write_timeout(secs.count(), usecs.count());
  cli.set_follow_location(false);
  httplib::Headers h;
  for (const auto& [k, v] : headers) h.emplace(k, v);

  httplib::Result res{nullptr, httplib::Error::Unknown};
  if (method == "GET") {
    res = cli.Get(u->target.c_str(), h);
  } else if (method == "DELETE") {
    res = cli.Delete(u->target.c_str(), h);
  } else if (method == "POST") {
    res =
        cli.Post(u->target.c_str(), h, body, content_type.empty() ? "application/octet-stream" : content_type.c_str());
  } else if (method == "PUT") {
    res = cli.Put(u->target.c_str(), h, body, content_type.empty() ? "application/octet-stream" : content_type.c_str());
  } else {
    out.error = "unsupported method " + method;
    return out;
  }
  if (!res) {
    out.error = httplib::to_string(res.error());
    return out;
  }
  out.status = res->status;
  out.body = res->body;
  for (const auto& [k, v] : res->headers) out.headers[lower(k)] = v;
  return out;
}

HttpResult http_get(const std::string& url, const HttpHeaders& headers) {
  return http_request("GET", url, "", "", headers);
}

HttpResult http_delete(const std::string& url) { return http_request("DELETE", url); }

HttpResult http_post_json(const std::string& url, const nlohmann::json& body) {
  return http_request("POST", url, body.dump(), "application/json");
}

HttpResult http_post_raw(const std::string& url, const std::string& body, const std::string& content_type) {
  return http_request("POST", url, body, content_type);
}

HttpResult http_post_form(const std::string& url, const std::vector<std::pair<std::string, std::string>>& fields,
                          const HttpHeaders& headers) {
  std::string body;
  for (const auto& [k, v] : fields) {
    if (!body.empty()) body += '&';
    body += url_encode(k) + "=" + url_encode(v);
  }
  return http_request("POST", url, body, "application/x-www-form-urlencoded", headers);
}

std::string url_encode(const std::string& s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string url_decode(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
               std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::optional<std::string> query_param(const std::string& url, const std::string& name) {
  auto q = url.find('?');
  if (q == std::string::npos) return std::nullopt;
  std::string query = url.substr(q + 1);
  auto hash = query.find('#');
  if (hash != std::string::npos) query.resize(hash);
  std::size_t pos = 0;
  while (pos <= query.size()) {
    auto amp = query.find('&', pos);
    if (amp == std::string::npos) amp = query.size();
    std::string part = query.substr(pos, amp - pos);
    auto eq = part.find('=');
    if (url_decode(part.substr(0, eq)) == name) {
      return eq == std::string::npos ? "" : url_decode(part.substr(eq + 1));
    }
    pos = amp + 1;
  }
  return std::nullopt;
}

std::string add_query_param(const std::string& url, const std::string& name, const std::string& value) {
  auto hash = url.find('#');
  std::string base = hash == std::string::npos ? url : url.substr(0, hash);
  std::string fragment = hash == std::string::npos ? "" : url.substr(hash);
  char sep = base.find('?') == std::string::npos ? '?' : '&';
  return base + sep + url_encode(name) + "=" + url_encode(value) + fragment;
}

}  // namespace mediax::test
