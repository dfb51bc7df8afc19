#include "http/route_audit.hpp"

#include "util/strings.hpp"

namespace mediax {

namespace {

// Valid UTF-8 (a path's percent-decoded bytes may be anything, and the column refuses what is
// not text) of at most kAuditFieldMax bytes.
std::string bounded(std::string_view raw) {
  const std::string s = util::valid_utf8(raw);
  if (s.size() <= kAuditFieldMax) return s;
  std::size_t cut = kAuditFieldMax;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;  // not inside a UTF-8 character
  return s.substr(0, cut) + "\u2026";
}

}  // namespace

AuditEntry audit_entry_of(const Route& route, const HttpRequest& req) {
  AuditEntry e;
  e.who = bounded(req.caller);
  e.what = std::string(route.operation_id);
  e.peer = bounded(req.peer);
  // The pattern's {x} segments in order, matched with req.params.
  const std::string_view pattern = route.pattern;
  const bool grant_route = pattern.starts_with("/v1/grants/");
  std::size_t param = 0, pos = 0;
  while ((pos = pattern.find('{', pos)) != std::string_view::npos && param < req.params.size()) {
    const auto end = pattern.find('}', pos);
    if (end == std::string_view::npos) break;
    const auto name = pattern.substr(pos + 1, end - pos - 1);
    const std::string& value = req.params[param++];
    if (name == "name" || name == "app") e.app = bounded(value);
    if (name == "id" && grant_route) e.grant = bounded(value);
    pos = end + 1;
  }
  return e;
}

std::string audit_result(int status) { return std::to_string(status); }

}  // namespace mediax
