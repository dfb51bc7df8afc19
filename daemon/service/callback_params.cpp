#include "service/callback_params.hpp"

namespace mediax {

namespace {

std::string value_of(const std::map<std::string, std::string>& m, const char* k) {
  auto it = m.find(k);
  return it == m.end() ? std::string() : it->second;
}

}  // namespace

CallbackParams callback_params(const std::map<std::string, std::string>& query) {
  std::map<std::string, std::string> q = query;
  if (auto it = q.find("state"); it != q.end()) {
    if (const auto mark = it->second.find('?'); mark != std::string::npos) {
      const std::string rest = it->second.substr(mark + 1);
      it->second.resize(mark);
      // "auth_code=A&expires_in=600": values the real query already has win.
      std::size_t i = 0;
      while (i <= rest.size()) {
        auto amp = rest.find('&', i);
        if (amp == std::string::npos) amp = rest.size();
        const std::string pair = rest.substr(i, amp - i);
        if (const auto eq = pair.find('='); eq != std::string::npos && eq > 0) {
          q.emplace(pair.substr(0, eq), pair.substr(eq + 1));
        }
        i = amp + 1;
      }
    }
  }
  CallbackParams p;
  p.state = value_of(q, "state");
  p.code = value_of(q, "code");
  if (p.code.empty()) {
    p.code = value_of(q, "auth_code");
    p.auth_code = !p.code.empty();
  }
  p.error = value_of(q, "error");
  p.error_description = value_of(q, "error_description");
  if (auto it = q.find("iss"); it != q.end()) p.iss = it->second;
  return p;
}

}  // namespace mediax
