// The web console: its static files as the daemon serves them (content types, CSP, caching, path
// traversal), and the whole operator flow in headless Chromium (tests/e2e/console/console.test.mjs)
// against the oidc-provider harness.
#include <cstdlib>
#include <filesystem>

#include "harness.hpp"

namespace mediax::e2e {
namespace {

using ConsoleFiles = E2ETest;

TEST_F(ConsoleFiles, ServesTheStaticFilesWithTypesCspAndNoStoreForIndex) {
  auto index = test::http_get(daemon().url("/console/"));
  ASSERT_EQ(index.status, 200) << index.describe();
  EXPECT_EQ(index.header("content-type"), "text/html; charset=utf-8");
  EXPECT_EQ(index.header("cache-control"), "no-store");
  const std::string csp = index.header("content-security-policy");
  EXPECT_NE(csp.find("script-src 'self'"), std::string::npos) << csp;
  EXPECT_NE(csp.find("default-src 'none'"), std::string::npos) << csp;
  EXPECT_EQ(csp.find("unsafe-inline"), std::string::npos) << csp;
  EXPECT_EQ(index.header("x-content-type-options"), "nosniff");
  EXPECT_NE(index.body.find("console.js"), std::string::npos);
  EXPECT_EQ(index.body.find("<script>"), std::string::npos) << "inline script would be blocked by the CSP";

  auto js = test::http_get(daemon().url("/console/console.js"));
  ASSERT_EQ(js.status, 200) << js.describe();
  EXPECT_EQ(js.header("content-type"), "text/javascript; charset=utf-8");
  EXPECT_NE(js.header("cache-control"), "no-store");
  auto css = test::http_get(daemon().url("/console/console.css"));
  ASSERT_EQ(css.status, 200) << css.describe();
  EXPECT_EQ(css.header("content-type"), "text/css; charset=utf-8");

  auto bare = test::http_get(daemon().url("/console"));
  EXPECT_EQ(bare.status, 301) << bare.describe();
  EXPECT_EQ(bare.header("location"), "/console/");
}

TEST_F(ConsoleFiles, RefusesPathsOutsideTheConsoleDirectory) {
  for (const char* path :
       {"/console/../../CMakeLists.txt", "/console/%2e%2e/%2e%2e/CMakeLists.txt", "/console/..%2f..%2fCMakeLists.txt",
        "/console/.hidden", "/console/screenshots/../../README.md", "/console/%5c..%5cCMakeLists.txt",
        "/console/nope.js", "/console//etc/passwd"}) {
    auto r = test::http_get(daemon().url(path));
    EXPECT_NE(r.status, 200) << path << ": " << r.describe();
    EXPECT_EQ(r.body.find("cmake_minimum_required"), std::string::npos) << path;
    EXPECT_EQ(r.body.find("root:"), std::string::npos) << path;
  }
}

class ConsoleInBrowser : public E2ETest {
 protected:
  void SetUp() override {
    node_ = test::find_in_path("node");
    if (node_.empty())
      GTEST_SKIP() << "node is not installed: the console test needs Node.js (admin/dev.sh installs it)";
    if (!std::filesystem::exists("/usr/bin/chromium")) {
      GTEST_SKIP() << "/usr/bin/chromium is not installed: the console browser test needs Debian's chromium "
                      "(admin/dev.sh installs it)";
    }
    console_dir_ = source_dir() + "/tests/e2e/console";
    ASSERT_TRUE(std::filesystem::exists(console_dir_ + "/node_modules/playwright-core"))
        << "run `npm ci` in tests/e2e/console (admin/dev.sh test does it)";
    oidc_dir_ = source_dir() + "/tests/e2e/oidc";
    ASSERT_TRUE(std::filesystem::exists(oidc_dir_ + "/node_modules/oidc-provider"))
        << "run `npm ci` in tests/e2e/oidc (admin/dev.sh test does it)";
    E2ETest::SetUp();
  }

  void TearDown() override {
    E2ETest::TearDown();
    if (provider_) provider_->terminate();
  }

  // The admin key the harness created for this daemon.
  std::string api_key() { return daemon().api_key(); }

  std::string node_;
  std::string console_dir_;
  std::string oidc_dir_;
  std::unique_ptr<test::Process> provider_;
};

TEST_F(ConsoleInBrowser, OperatorRegistersConnectsThroughLoginAndConsentRefreshesAndRevokes) {
  const std::string web_secret = random_hex("oidc-web-", 32);
  remember_secret(web_secret);
  test::ProcessOptions popts;
  popts.cwd = oidc_dir_;
  popts.log_dir = dir_;
  popts.name = "oidc-provider";
  provider_ = std::make_unique<test::Process>(node_,
                                              std::vector<std::string>{"server.mjs", "--port", "0", "--redirect-uri",
                                                                       daemon().callback_url("web"), "--web-secret",
                                                                       web_secret, "--access-ttl", "600"},
                                              popts);
  const std::string issuer = "http://127.0.0.1:" + std::to_string(provider_->wait_for_listening(30s));

  // Screenshots go to the test's directory; the committed ones in admin/web/screenshots are only
  // replaced when asked: MEDIAX_UPDATE_SCREENSHOTS=1.
  const char* update = std::getenv("MEDIAX_UPDATE_SCREENSHOTS");
  const bool update_committed = update != nullptr && std::string(update) == "1";
  const std::string shots = update_committed ? source_dir() + "/admin/web/screenshots" : dir_ + "/screenshots";
  std::filesystem::create_directories(shots);
  test::ProcessOptions opts;
  opts.cwd = console_dir_;
  opts.log_dir = dir_;
  opts.name = "console-test";
  opts.env = {"MEDIAX_URL=" + daemon().url(""), "OIDC_ISSUER=" + issuer,   "OIDC_WEB_SECRET=" + web_secret,
              "MEDIAX_API_KEY=" + api_key(),    "SCREENSHOT_DIR=" + shots, "FAILURE_DIR=" + dir_};
  auto r = test::run_process(node_, {"console.test.mjs"}, opts, 180s);
  ASSERT_EQ(r.exit_code, 0) << "stdout:\n" << r.out << "\nstderr:\n" << r.err;
  EXPECT_NE(r.out.find("all steps passed"), std::string::npos) << r.out;
  EXPECT_TRUE(std::filesystem::exists(shots + "/console.png")) << "no screenshot in " << shots;

  // What the browser did is what the daemon holds.
  json list = grants("web");
  ASSERT_EQ(list.size(), 1u) << list.dump();
  EXPECT_EQ(list[0].value("account_id", ""), "olivia");
  EXPECT_EQ(list[0].value("status", ""), "revoked");
}

}  // namespace
}  // namespace mediax::e2e
