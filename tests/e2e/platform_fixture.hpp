// End-to-end fixture for the Douyin, WeChat and Google platform classes: starts the fake platform
// (tests/fakes/platforms, MEDIAX_FAKE_PLATFORMS_BIN) before the daemon and points the daemon's
// [platforms.NAME] URLs at it. Every code, token and secret the fake knows joins the leak check of
// E2ETest::TearDown.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "harness.hpp"

namespace mediax::e2e {

std::string fake_platforms_bin();

class FakePlatformServer {
 public:
  // Starts `mediax-fake-platforms --platform NAME --port 0 ARGS...` with logs in `dir`.
  FakePlatformServer(const std::string& platform, const std::vector<std::string>& args, const std::string& dir);

  const std::string& base() const { return base_; }
  // POST a control request (/_fake/...); throws unless the answer has `expect_status`.
  json control(const std::string& path, const json& body, int expect_status = 201) const;
  json stats() const;
  std::int64_t stat(const std::string& name) const;                            // 0 when absent
  std::int64_t stat_in(const std::string& map, const std::string& key) const;  // 0 when absent
  void fail(const json& spec) const;
  json introspect(const std::string& token) const;
  bool token_active(const std::string& token) const;
  std::vector<std::string> secrets() const;

 private:
  std::string base_;
  std::unique_ptr<test::Process> proc_;
};

// An RSA key pair for a service account, PEM encoded.
struct RsaKey {
  std::string private_pem;  // PKCS#8
  std::string public_pem;   // SubjectPublicKeyInfo
};
RsaKey make_rsa_key();

class PlatformE2ETest : public E2ETest {
 protected:
  // The fake to start and its flags; set them in the constructor of a fixture.
  std::string platform_;
  std::vector<std::string> fake_args_;

  std::string prepare_daemon_config() override;
  void TearDown() override;

  FakePlatformServer& fake() { return *fake_; }
  // POST /v1/apps; throws unless 201. Remembers the client secret for the leak check.
  json register_app(const json& body);
  // Asks the daemon for a connect link, opens it in a new Browser, adds login_hint and follows the
  // platform URL at the fake; returns the callback the fake redirected to (not yet visited) with the
  // browser's cookie. The code is remembered.
  BrowserCallback authorize_at_platform(const std::string& app, const std::string& login);
  // authorize_at_platform + the callback; returns the id of the grant with `account_id`.
  std::int64_t connect_account(const std::string& app, const std::string& login, const std::string& account_id);
  // The app's published token (mediax.access_tokens), remembered for the leak check; "" when none.
  std::string published(const std::string& app, std::optional<std::int64_t> grant_id = std::nullopt);

  std::unique_ptr<FakePlatformServer> fake_;
};

}  // namespace mediax::e2e
