// mediaxctl's command lines that never reach the daemon: help texts and usage errors (exit 2)
// are decided before any request is sent.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "ctl.hpp"

namespace mediax::ctl {
namespace {

struct Ran {
  int code;
  std::string out;
  std::string err;
};

Ran ctl(std::vector<std::string> args) {
  // A URL nothing listens on: a command that got as far as a request would exit 3, not 2.
  args.insert(args.begin(), {"--url", "http://127.0.0.1:9"});
  std::ostringstream out, err;
  const int code = run(args, out, err);
  return {code, out.str(), err.str()};
}

TEST(CtlGrantsRecover, HelpSaysWhatItDoesAndIsListedInTheMainHelp) {
  auto h = ctl({"grants", "recover", "--help"});
  EXPECT_EQ(h.code, kExitOk);
  EXPECT_NE(h.out.find("usage: mediaxctl grants recover ID"), std::string::npos) << h.out;
  EXPECT_NE(h.out.find("api_get_authorizer_info"), std::string::npos);
  EXPECT_EQ(ctl({"help", "grant", "recover"}).out, h.out);  // `grant` is `grants`
  auto main = ctl({"--help"});
  EXPECT_NE(main.out.find("grants recover ID"), std::string::npos);
}

TEST(CtlGrantsRecover, NeedsExactlyOneNumericGrantId) {
  for (const auto& args : std::vector<std::vector<std::string>>{{"grants", "recover"},
                                                                {"grants", "recover", "1", "2"},
                                                                {"grants", "recover", "abc"},
                                                                {"grant", "recover", "-1"},
                                                                {"grants", "recover", "7", "--mobile"}}) {
    auto r = ctl(args);
    EXPECT_EQ(r.code, kExitUsage) << args.back() << ": " << r.err;
  }
  EXPECT_NE(ctl({"grants", "recover", "abc"}).err.find("'abc' is not a grant id"), std::string::npos);
  EXPECT_NE(ctl({"grants"}).err.find("recover"), std::string::npos);
}

TEST(CtlGrantsRecover, AValidLineGoesToTheDaemon) {
  // Nothing listens: the request was tried (exit 3), so the line itself was accepted.
  EXPECT_EQ(ctl({"grant", "recover", "7"}).code, kExitNoConnect);
  EXPECT_EQ(ctl({"grants", "recover", "7"}).code, kExitNoConnect);
}

TEST(CtlConnect, WeChatThirdPartyPlatformChoicesAreCheckedBeforeSending) {
  EXPECT_EQ(ctl({"connect", "wxc", "--auth-type", "4"}).code, kExitUsage);
  EXPECT_EQ(ctl({"connect", "wxc", "--auth-type", "x"}).code, kExitUsage);
  EXPECT_EQ(ctl({"connect", "wxc", "--mobile=yes"}).code, kExitUsage);  // a flag takes no value
  EXPECT_EQ(ctl({"connect", "wxc", "--mobile", "--auth-type", "1", "--biz-appid", "wx1"}).code, kExitNoConnect);
  auto h = ctl({"connect", "--help"});
  EXPECT_NE(h.out.find("--mobile"), std::string::npos);
  EXPECT_NE(h.out.find("--auth-type N"), std::string::npos);
}

TEST(CtlAppsSecrets, HelpSaysWhatItDoesAndIsListedInTheMainHelp) {
  auto h = ctl({"apps", "secrets", "--help"});
  EXPECT_EQ(h.code, kExitOk);
  EXPECT_NE(h.out.find("usage: mediaxctl apps secrets NAME"), std::string::npos) << h.out;
  EXPECT_NE(h.out.find("previous_encoding_aes_key"), std::string::npos);
  EXPECT_NE(ctl({"--help"}).out.find("apps secrets NAME"), std::string::npos);
}

TEST(CtlAppsSecrets, SecretsComeFromFilesOrTheEnvironmentNeverTheCommandLine) {
  const std::string dir = ::testing::TempDir();
  const std::string secret_file = dir + "/ctl_secret.txt", empty_file = dir + "/ctl_empty.txt";
  { std::ofstream(secret_file) << "s3cret\n"; }
  { std::ofstream(empty_file) << ""; }
  EXPECT_EQ(ctl({"apps", "secrets", "wxc"}).code, kExitUsage);  // nothing to change
  EXPECT_NE(ctl({"apps", "secrets", "wxc"}).err.find("nothing to change"), std::string::npos);
  EXPECT_EQ(ctl({"apps", "secrets", "wxc", "--client-secret", "s3cret"}).code, kExitUsage);
  EXPECT_EQ(ctl({"apps", "secrets", "wxc", "--option", "encoding_aes_key"}).code, kExitUsage);
  EXPECT_EQ(ctl({"apps", "secrets", "wxc", "--option", "=" + secret_file}).code, kExitUsage);
  EXPECT_EQ(ctl({"apps", "secrets", "wxc", "--option", "message_token=" + empty_file}).code, kExitUsage);
  EXPECT_EQ(ctl({"apps", "secrets", "wxc", "--client-secret-file", empty_file}).code, kExitUsage);
  EXPECT_EQ(
      ctl({"apps", "secrets", "wxc", "--option", "message_token=" + secret_file, "--drop-option", "message_token"})
          .code,
      kExitUsage);
  EXPECT_EQ(ctl({"apps", "secrets", "--client-secret-file", secret_file}).code, kExitUsage);  // no NAME
  EXPECT_EQ(ctl({"apps", "secrets", "a", "b", "--client-secret-file", secret_file}).code, kExitUsage);
  // Nothing listens: the request was tried (exit 3), so these lines were accepted.
  EXPECT_EQ(ctl({"apps", "secrets", "wxc", "--client-secret-file", secret_file}).code, kExitNoConnect);
  EXPECT_EQ(ctl({"apps", "secrets", "wxc", "--option", "encoding_aes_key=" + secret_file}).code, kExitNoConnect);
  EXPECT_EQ(ctl({"apps", "secrets", "wxc", "--drop-option", "previous_encoding_aes_key"}).code, kExitNoConnect);
}

}  // namespace
}  // namespace mediax::ctl
