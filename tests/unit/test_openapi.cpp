// admin/openapi.yaml lists exactly the routes of the daemon's route table (http/routes.cpp):
// method, path and operationId (the e2e test probes the same list on a running daemon).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <unistd.h>

#include "../support/openapi_paths.hpp"
#include "http/routes.hpp"

namespace mediax {
namespace {

namespace fs = std::filesystem;
using test::Operation;

// A route pattern as an OpenAPI path: a last "{x*}" (the rest of the path) is the parameter "{x}".
std::string pattern_to_path(std::string_view pattern) {
  std::string p(pattern);
  if (p.size() >= 3 && p.compare(p.size() - 2, 2, "*}") == 0) p.erase(p.size() - 2, 1);
  return p;
}

std::set<Operation> served_operations() {
  std::set<Operation> out;
  for (const auto& r : route_table()) {
    out.insert({std::string(r.method), pattern_to_path(r.pattern), std::string(r.operation_id)});
  }
  return out;
}

std::string describe(const std::set<Operation>& ops) {
  std::string s;
  for (const auto& o : ops) s += "  " + o.method + " " + o.path + " " + o.operation_id + "\n";
  return s;
}

TEST(OpenApi, PatternsBecomePathsWithParameters) {
  EXPECT_EQ(pattern_to_path("/v1/apps/{name}/token/rejected"), "/v1/apps/{name}/token/rejected");
  EXPECT_EQ(pattern_to_path("/console/{path*}"), "/console/{path}");
  EXPECT_EQ(test::normalize_path_params("/v1/grants/{id}/token"), "/v1/grants/{}/token");
}

TEST(OpenApi, DocumentListsExactlyTheRoutesOfTheTable) {
  const auto list = test::openapi_operations(std::string(MEDIAX_SOURCE_DIR) + "/admin/openapi.yaml");
  const std::set<Operation> documented(list.begin(), list.end());
  ASSERT_EQ(documented.size(), list.size()) << "an operation is listed twice";
  const auto served = served_operations();
  ASSERT_EQ(served.size(), route_table().size()) << "the table lists a route twice";

  std::set<Operation> undocumented, not_served;
  for (const auto& o : served) {
    if (!documented.count(o)) undocumented.insert(o);
  }
  for (const auto& o : documented) {
    if (!served.count(o)) not_served.insert(o);
  }
  EXPECT_TRUE(undocumented.empty()) << "in the route table but not so in admin/openapi.yaml:\n"
                                    << describe(undocumented);
  EXPECT_TRUE(not_served.empty()) << "in admin/openapi.yaml but not so in the route table:\n" << describe(not_served);
}

TEST(OpenApi, OperationIdsAreUnique) {
  std::set<std::string_view> ids;
  for (const auto& r : route_table()) EXPECT_TRUE(ids.insert(r.operation_id).second) << r.operation_id;
}

TEST(OpenApi, ReaderSkipsNonPathLinesAndStopsAtTheNextTopLevelKey) {
  const auto file = fs::temp_directory_path() / ("openapi_reader_" + std::to_string(::getpid()) + ".yaml");
  {
    std::ofstream out(file);
    out << "openapi: 3.0.3\npaths:\n  /a/{x}:\n    get:\n      summary: s\n      operationId: getA\n"
           "    delete:\n      responses: {}\n  # comment\n  /b:\n    post:\n      requestBody: {}\n"
           "      operationId: postB\ncomponents:\n  /not/a/path:\n    get:\n      operationId: no\n";
  }
  const auto ops = test::openapi_operations(file.string());
  auto routes = test::openapi_routes(file.string());
  fs::remove(file);
  EXPECT_EQ(ops,
            (std::vector<Operation>{{"GET", "/a/{x}", "getA"}, {"DELETE", "/a/{x}", ""}, {"POST", "/b", "postB"}}));
  EXPECT_EQ(routes, (std::set<test::Route>{{"GET", "/a/{}"}, {"DELETE", "/a/{}"}, {"POST", "/b"}}));
}

}  // namespace
}  // namespace mediax
