#include "store/conninfo.hpp"

#include "util/url.hpp"

namespace mediax {

std::string with_password(const std::string& url, const std::string& password) {
  if (password.empty()) return url;
  if (url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0) {
    return url + (url.find('?') == std::string::npos ? "?" : "&") + "password=" + url_encode(password);
  }
  // Keyword/value: single quotes, with \ and ' escaped by a backslash (libpq's rule). A later
  // keyword wins, so this one overrides a password= in the string.
  std::string quoted = "'";
  for (const char c : password) {
    if (c == '\\' || c == '\'') quoted += '\\';
    quoted += c;
  }
  quoted += '\'';
  return url + (url.empty() ? "" : " ") + "password=" + quoted;
}

}  // namespace mediax
