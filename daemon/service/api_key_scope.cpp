#include "service/api_key_scope.hpp"

#include <algorithm>

namespace mediax {

namespace {

bool name_char(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'; }

// "" when p is an app name in which '*' may stand for characters, else why not.
std::string check_pattern(std::string_view p) {
  if (p.empty()) return "is empty";
  if (p.size() > 63) return "is longer than 63 characters";
  if (p.front() == '_' || p.front() == '-') return "must start with a-z, 0-9 or *";
  for (char c : p) {
    if (!name_char(c) && c != '*') return "may hold only a-z, 0-9, _, - and * (app names are lower case)";
  }
  return "";
}

// Glob match of the whole name: '*' is any run of characters. Iterative with one backtrack point
// (the last '*'), linear in practice and never exponential.
bool glob_match(std::string_view pattern, std::string_view name) {
  std::size_t p = 0, n = 0;
  std::size_t star = std::string_view::npos, star_n = 0;
  while (n < name.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      star_n = n;
    } else if (p < pattern.size() && pattern[p] == name[n]) {
      ++p;
      ++n;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      n = ++star_n;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

std::string_view trimmed(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

tl::expected<std::vector<std::string>, std::string> parse_app_scope(std::string_view text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (true) {
    const auto comma = text.find(',', start);
    const auto part =
        trimmed(text.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start));
    if (part.empty()) {
      return tl::unexpected(std::string(
          "an empty entry: give app names or patterns separated by commas, e.g. 'crm,shop-*' (leave --apps out for "
          "every app)"));
    }
    if (auto why = check_pattern(part); !why.empty()) {
      // The entry is an app name or pattern, never a secret: it may be echoed (bounded).
      return tl::unexpected("'" + std::string(part.substr(0, 64)) + "' " + why);
    }
    if (std::find(out.begin(), out.end(), part) == out.end()) out.emplace_back(part);
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  if (out.size() > 100) return tl::unexpected(std::string("more than 100 entries"));
  return out;
}

bool key_may_use_app(const std::vector<std::string>& scope, std::string_view app_name) {
  if (scope.empty()) return true;
  return std::any_of(scope.begin(), scope.end(), [&](const std::string& p) { return glob_match(p, app_name); });
}

std::string scope_text(const std::vector<std::string>& scope) {
  if (scope.empty()) return "*";
  std::string out;
  for (const auto& p : scope) out += (out.empty() ? "" : ",") + p;
  return out;
}

}  // namespace mediax
