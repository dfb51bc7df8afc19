// admin/openapi.yaml lists exactly the routes the daemon registers in daemon/http/*.cpp
// (server.Get/Post/... calls; the e2e test probes the same list on a running daemon).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <unistd.h>

#include "../support/openapi_paths.hpp"

namespace mediax {
namespace {

namespace fs = std::filesystem;
using test::Route;

// A registered route pattern as an OpenAPI path: "([^/]+)" and a trailing ".*" are parameters.
std::string pattern_to_path(std::string p) {
  static const std::regex segment(R"(\(\[\^/\]\+\))");
  p = std::regex_replace(p, segment, "{}");
  if (p.size() >= 2 && p.compare(p.size() - 2, 2, ".*") == 0) p = p.substr(0, p.size() - 2) + "{}";
  return p;
}

std::set<Route> registered_routes() {
  static const std::regex call(R"re(server\.(Get|Post|Put|Patch|Delete|Options)\(\s*(?:R"\((.*?)\)"|"([^"]*)"))re");
  std::set<Route> out;
  for (const auto& entry : fs::directory_iterator(fs::path(MEDIAX_SOURCE_DIR) / "daemon" / "http")) {
    if (entry.path().extension() != ".cpp") continue;
    std::ifstream in(entry.path());
    std::stringstream text;
    text << in.rdbuf();
    const std::string src = text.str();
    for (std::sregex_iterator it(src.begin(), src.end(), call), end; it != end; ++it) {
      std::string method = (*it)[1];
      for (auto& c : method) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      std::string pattern = (*it)[2].matched ? (*it)[2].str() : (*it)[3].str();
      out.emplace(method, pattern_to_path(pattern));
    }
  }
  return out;
}

std::string describe(const std::set<Route>& routes) {
  std::string s;
  for (const auto& [m, p] : routes) s += "  " + m + " " + p + "\n";
  return s;
}

TEST(OpenApi, PatternsBecomePathsWithParameters) {
  EXPECT_EQ(pattern_to_path("/v1/apps/([^/]+)/token/rejected"), "/v1/apps/{}/token/rejected");
  EXPECT_EQ(pattern_to_path("/console/.*"), "/console/{}");
  EXPECT_EQ(test::normalize_path_params("/v1/grants/{id}/token"), "/v1/grants/{}/token");
}

TEST(OpenApi, DocumentListsExactlyTheRoutesTheDaemonRegisters) {
  const auto documented = test::openapi_routes(std::string(MEDIAX_SOURCE_DIR) + "/admin/openapi.yaml");
  const auto served = registered_routes();
  ASSERT_GE(served.size(), 15u) << "the route scan found too few routes:\n" << describe(served);
  ASSERT_TRUE(served.count({"GET", "/healthz"})) << describe(served);

  std::set<Route> undocumented, not_served;
  for (const auto& r : served) {
    if (!documented.count(r)) undocumented.insert(r);
  }
  for (const auto& r : documented) {
    if (!served.count(r)) not_served.insert(r);
  }
  EXPECT_TRUE(undocumented.empty()) << "served but missing from admin/openapi.yaml:\n" << describe(undocumented);
  EXPECT_TRUE(not_served.empty()) << "in admin/openapi.yaml but not served:\n" << describe(not_served);
}

TEST(OpenApi, ReaderSkipsNonPathLinesAndStopsAtTheNextTopLevelKey) {
  const auto file = fs::temp_directory_path() / ("openapi_reader_" + std::to_string(::getpid()) + ".yaml");
  {
    std::ofstream out(file);
    out << "openapi: 3.0.3\npaths:\n  /a/{x}:\n    get:\n      summary: s\n    delete:\n"
           "      responses: {}\n  # comment\n  /b:\n    post:\n      requestBody: {}\n"
           "components:\n  /not/a/path:\n    get:\n";
  }
  auto routes = test::openapi_routes(file.string());
  fs::remove(file);
  EXPECT_EQ(routes, (std::set<Route>{{"GET", "/a/{}"}, {"DELETE", "/a/{}"}, {"POST", "/b"}}));
}

}  // namespace
}  // namespace mediax
