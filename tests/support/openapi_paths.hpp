// Reads the operations (method, path, operationId) of admin/openapi.yaml without a YAML library: the
// file keeps a regular layout (paths at two spaces of indent under `paths:`, their methods at four,
// an operation's operationId at six).
#pragma once

#include <fstream>
#include <regex>
#include <set>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace mediax::test {

using Route = std::pair<std::string, std::string>;  // {"GET", "/v1/apps/{}"}

struct Operation {
  std::string method;        // "GET"
  std::string path;          // as written: "/v1/apps/{name}"
  std::string operation_id;  // "" when the operation has none
  bool operator<(const Operation& o) const {
    return std::tie(method, path, operation_id) < std::tie(o.method, o.path, o.operation_id);
  }
  bool operator==(const Operation& o) const {
    return std::tie(method, path, operation_id) == std::tie(o.method, o.path, o.operation_id);
  }
};

// Path parameters of any name become "{}", so "/v1/apps/{name}" and "/v1/apps/{app}" compare equal.
inline std::string normalize_path_params(const std::string& path) {
  static const std::regex param(R"(\{[^}/]*\})");
  return std::regex_replace(path, param, "{}");
}

inline std::vector<Operation> openapi_operations(const std::string& file) {
  std::ifstream in(file);
  if (!in) throw std::runtime_error("cannot read " + file);
  static const std::regex path_line(R"(^  (/[^:\s]*):\s*$)");
  static const std::regex method_line(R"(^    (get|put|post|delete|patch|head|options):\s*$)");
  static const std::regex operation_id_line(R"(^      operationId:\s*(\S+)\s*$)");
  std::vector<Operation> out;
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
      out.push_back({method, current, ""});
    } else if (std::regex_match(line, m, operation_id_line) && !out.empty()) {
      out.back().operation_id = m[1];
    }
  }
  return out;
}

inline std::set<Route> openapi_routes(const std::string& file) {
  std::set<Route> out;
  for (const auto& op : openapi_operations(file)) out.emplace(op.method, normalize_path_params(op.path));
  return out;
}

}  // namespace mediax::test
