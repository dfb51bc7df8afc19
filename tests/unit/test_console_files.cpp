// Which file a /console/ request path names: index.html for the root, nothing outside the directory.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "http/console_routes.hpp"

namespace mediax {
namespace {

namespace fs = std::filesystem;

class ConsoleFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "mediax-console-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
    fs::create_directories(root_ / "web" / "img");
    std::ofstream(root_ / "web" / "index.html") << "<!doctype html>";
    std::ofstream(root_ / "web" / "app.js") << "";
    std::ofstream(root_ / "web" / "img" / "a.png") << "";
    std::ofstream(root_ / "web" / ".secret") << "";
    std::ofstream(root_ / "outside.txt") << "";
    fs::create_symlink(root_ / "outside.txt", root_ / "web" / "link.txt");
    dir_ = (root_ / "web").string();
  }
  void TearDown() override { fs::remove_all(root_); }

  std::string in_dir(const std::string& rel) const { return fs::canonical(root_ / "web" / rel).string(); }

  fs::path root_;
  std::string dir_;
};

TEST_F(ConsoleFiles, RootIsIndexAndFilesAndSubfoldersResolve) {
  EXPECT_EQ(console_file(dir_, "/console/"), in_dir("index.html"));
  EXPECT_EQ(console_file(dir_, "/console/app.js"), in_dir("app.js"));
  EXPECT_EQ(console_file(dir_, "/console/img/a.png"), in_dir("img/a.png"));
}

TEST_F(ConsoleFiles, RefusesTraversalHiddenFilesSymlinksOutAndDirectories) {
  for (const char* p : {"/console/../outside.txt", "/console/img/../../outside.txt", "/console/./app.js",
                        "/console/.secret", "/console/link.txt", "/console/img", "/console/img/", "/console//app.js",
                        "/console/..\\outside.txt", "/console/missing.js", "/other/app.js", "/console/a\npp.js"}) {
    EXPECT_EQ(console_file(dir_, p), std::nullopt) << p;
  }
}

TEST(ConsoleContentType, ByExtension) {
  EXPECT_EQ(console_content_type("/x/index.html"), "text/html; charset=utf-8");
  EXPECT_EQ(console_content_type("/x/console.js"), "text/javascript; charset=utf-8");
  EXPECT_EQ(console_content_type("/x/console.css"), "text/css; charset=utf-8");
  EXPECT_EQ(console_content_type("/x/s.png"), "image/png");
  EXPECT_EQ(console_content_type("/x/blob"), "application/octet-stream");
}

}  // namespace
}  // namespace mediax
