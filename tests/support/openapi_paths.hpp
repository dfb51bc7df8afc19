// Reads the (method, path) pairs of admin/openapi.yaml without a YAML library: the file keeps a
// regular layout (paths at two spaces of indent under `paths:`, their methods at four).
#pragma once

#include <fstream>
#include <regex>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>

namespace mediax::test {

using Route = std::pair<std::string, std::string>;  // {"GET", "/v1/apps/{}"}

// Path parameters of any name become "{}", so "/v1/apps/{name}" and a route regex compare equal.
inline std::string normalize_path_params(const std::string& path) {
  static const std::regex param(R"(\{[^}/]*\})");
  return std::regex_replace(path, param, "{}");
}

inline std::set<Route> openapi_routes(const std::string& file) {
  std::ifstream in(file);
  if (!in) throw std::runtime_error("cannot read " + file);
  static const std::regex path_line(R"(^  (/[^:\s]*):\s*$)");
  static const std::regex method_line(R"(^    (get|put|post|delete|patch|head|options):\s*$)");
  std::set<Route> out;
  std::string line, current;
  bool in_paths = false;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line == "paths:") {
      in_paths = true;
      continue;
    }
    if (!in_paths) continue;
    if (!line.empty() && line[0] != ' ' && line[0] != '#') break;  // the next top-level key
    std::smatch m;
    if (std::regex_match(line, m, path_line)) {
      current = m[1];
    } else if (std::regex_match(line, m, method_line)) {
      if (current.empty()) throw std::runtime_error(file + ": method outside a path: " + line);
      std::string method = m[1];
      for (auto& c : method) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      out.emplace(method, normalize_path_params(current));
    }
  }
  return out;
}

}  // namespace mediax::test
