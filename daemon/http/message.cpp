#include "http/message.hpp"

#include "http/answers.hpp"
#include "util/strings.hpp"
#include "util/url.hpp"

namespace mediax {

std::string_view HttpRequest::header(std::string_view name) const {
  for (const auto& [n, v] : headers) {
    if (util::iequals(n, name)) return v;
  }
  return {};
}

bool HttpRequest::has_header(std::string_view name) const {
  for (const auto& h : headers) {
    if (util::iequals(h.first, name)) return true;
  }
  return false;
}

std::map<std::string, std::string> HttpRequest::query_params() const {
  std::map<std::string, std::string> out;
  for (auto& [k, v] : parse_query(query)) out.emplace(std::move(k), std::move(v));
  return out;
}

void HttpResponse::set_header(std::string_view name, std::string value) {
  for (auto& [n, v] : headers) {
    if (util::iequals(n, name)) {
      v = std::move(value);
      return;
    }
  }
  headers.emplace_back(std::string(name), std::move(value));
}

std::string_view HttpResponse::header(std::string_view name) const {
  for (const auto& [n, v] : headers) {
    if (util::iequals(n, name)) return v;
  }
  return {};
}

void HttpResponse::json(int s, const nlohmann::json& b) {
  status = s;
  content_type = "application/json";
  body = json_text(b);
}

void HttpResponse::error(int s, const std::string& code, const std::string& message, const nlohmann::json& details) {
  json(s, error_body(code, message, details));
}

void HttpResponse::redirect(std::string location, int s) {
  status = s;
  content_type.clear();
  body.clear();
  set_header("Location", std::move(location));
}

}  // namespace mediax
