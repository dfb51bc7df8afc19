// admin.token_listen: the token-read listener (a second listener of http/http_server.hpp) answers as
// the admin API does for token reads, with the same keys, and speaks careful HTTP/1.1.
#include "harness.hpp"

namespace mediax::e2e {
namespace {

class TokenListenerTest : public E2ETest {
 protected:
  void SetUp() override {
    dir_ = test::make_temp_dir("mediax-e2e");
    token_port_ = test::free_port();
    daemon_ = std::make_unique<Daemon>(cluster().create_database(random_hex("e2e_token_listen_", 8)), dir_, "",
                                       "token_listen = \"127.0.0.1:" + std::to_string(token_port_) + "\"");
  }

  std::string token_url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(token_port_) + path;
  }
  test::HttpResult read(const std::string& path, const std::string& key, const std::string& method = "GET") const {
    test::HttpHeaders headers;
    if (!key.empty()) headers.emplace_back("Authorization", "Bearer " + key);
    return test::http_request(method, token_url(path), "", "", headers);
  }

  int token_port_ = 0;
};

TEST_F(TokenListenerTest, AnswersTokenReadsAsTheAdminApiDoes) {
  auto& fake = start_fake({});
  register_fake_app(fake, "reads", "client_secret_post");
  const std::int64_t grant_id = connect("reads", "alice");
  register_fake_app(fake, "service", "client_secret_post", false, true);
  ASSERT_TRUE(eventually([&] { return daemon().get("/v1/apps/service/token").status == 200; }, 15s));
  EXPECT_NE(daemon().log().find("token reads on 127.0.0.1:" + std::to_string(token_port_)), std::string::npos);

  for (const std::string& path :
       {"/v1/grants/" + std::to_string(grant_id) + "/token", std::string("/v1/apps/service/token")}) {
    const auto admin = daemon().get(path);
    const auto fast = read(path, daemon().api_key());
    ASSERT_EQ(admin.status, 200) << admin.describe();
    ASSERT_EQ(fast.status, 200) << path << ": " << fast.describe();
    EXPECT_EQ(fast.json(), admin.json()) << path;
    EXPECT_EQ(fast.body, admin.body) << path;  // byte for byte: one to_json, one json_text
    EXPECT_EQ(fast.json().value("token_usage", ""), "header:Authorization:Bearer") << path;
    EXPECT_FALSE(fast.json().value("access_token", "").empty());
    EXPECT_EQ(fast.header("content-type"), "application/json");
    EXPECT_EQ(fast.header("cache-control"), "no-store");
    remember_secret(fast.json().value("access_token", ""));
  }

  // A reader key may read tokens here as on the admin API.
  const std::string reader = daemon().create_api_key("reader-app", "reader");
  remember_secret(reader);
  const std::string grant_path = "/v1/grants/" + std::to_string(grant_id) + "/token";
  // (A key made a moment ago works once the registry reloads: at once, or within its 500 ms miss guard.)
  EXPECT_TRUE(eventually([&] { return read(grant_path, reader).status == 200; }, 5s));

  // The same refusals and errors as the admin API.
  auto none = read(grant_path, "");
  EXPECT_EQ(none.status, 401) << none.describe();
  EXPECT_EQ(none.json().value("error", ""), "unauthorized");
  EXPECT_EQ(none.header("www-authenticate").rfind("Bearer", 0), 0U);
  const std::string wrong = random_hex("mxk_wrong", 40);
  remember_secret(wrong);
  auto bad_key = read(grant_path, wrong);
  EXPECT_EQ(bad_key.status, 401) << bad_key.describe();
  EXPECT_EQ(bad_key.json().value("error", ""), "invalid_token");
  EXPECT_NE(bad_key.header("www-authenticate").find("invalid_token"), std::string::npos);
  for (const std::string& path : {std::string("/v1/grants/987654/token"), std::string("/v1/grants/abc/token"),
                                  std::string("/v1/apps/nosuch/token"), std::string("/v1/apps/reads/token")}) {
    const auto admin = daemon().get(path);
    const auto fast = read(path, daemon().api_key());
    EXPECT_EQ(fast.status, admin.status) << path << ": " << fast.describe() << " vs " << admin.describe();
    EXPECT_EQ(fast.json(), admin.json()) << path;
    EXPECT_GE(fast.status, 400) << path;
  }

  // Only token reads: the rest of the API says where it is.
  auto other = read("/v1/apps", daemon().api_key());
  EXPECT_EQ(other.status, 404) << other.describe();
  EXPECT_NE(other.json().value("message", "").find("admin.listen"), std::string::npos) << other.describe();
  auto post = read(grant_path, daemon().api_key(), "POST");
  EXPECT_EQ(post.status, 405) << post.describe();
  EXPECT_EQ(post.header("allow"), "GET, HEAD");
  EXPECT_EQ(read("/healthz", "").status, 200);
  auto head = raw_exchange(token_url(""), "HEAD " + grant_path + " HTTP/1.1\r\nAuthorization: Bearer " +
                                              daemon().api_key() + "\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(head.rfind("HTTP/1.1 200 OK\r\n", 0), 0U) << head.substr(0, 200);
  EXPECT_EQ(head.find("access_token"), std::string::npos) << "HEAD: headers only";
  EXPECT_NE(head.find("Content-Length: "), std::string::npos);

  // A revoked grant's token is gone here too.
  ASSERT_EQ(daemon().del("/v1/grants/" + std::to_string(grant_id)).status, 200);
  EXPECT_EQ(read(grant_path, daemon().api_key()).status, daemon().get(grant_path).status);
  EXPECT_NE(read(grant_path, daemon().api_key()).status, 200);
}

TEST_F(TokenListenerTest, SpeaksCarefulHttp) {
  auto& fake = start_fake({});
  register_fake_app(fake, "raw", "client_secret_post");
  const std::int64_t grant_id = connect("raw", "bob");
  const std::string key = daemon().api_key();
  const std::string get = "GET /v1/grants/" + std::to_string(grant_id) +
                          "/token HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + key + "\r\n";
  const std::string base = token_url("");
  auto count = [](const std::string& s, const std::string& what) {
    std::size_t n = 0;
    for (auto p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
    return n;
  };

  // Pipelined requests in one write: answered in order on the one connection; the last asks to close.
  auto piped = raw_exchange(base, get + "\r\n" + "GET /v1/grants/987654/token HTTP/1.1\r\nAuthorization: Bearer " +
                                      key + "\r\n\r\n" + get + "Connection: close\r\n\r\n");
  EXPECT_EQ(count(piped, "HTTP/1.1 200 OK\r\n"), 2U) << piped.substr(0, 400);
  EXPECT_EQ(count(piped, "HTTP/1.1 404 Not Found\r\n"), 1U);
  EXPECT_LT(piped.find("200 OK"), piped.find("404 Not Found"));
  EXPECT_LT(piped.find("404 Not Found"), piped.rfind("200 OK"));
  EXPECT_NE(piped.find("Connection: close\r\n"), std::string::npos);
  for (const auto& line : {"\"access_token\"", "\"expires_at\""}) EXPECT_EQ(count(piped, line), 2U) << line;

  // HTTP/1.0 without keep-alive: one answer, then the server closes (raw_exchange returns).
  auto old = raw_exchange(base, "GET /healthz HTTP/1.0\r\n\r\n");
  EXPECT_EQ(old.rfind("HTTP/1.1 200 OK\r\n", 0), 0U) << old;
  EXPECT_NE(old.find("Connection: close"), std::string::npos) << old;

  // Malformed requests get a JSON error and a closed connection; the daemon goes on serving.
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"GARBAGE\r\n\r\n", "400 Bad Request"},
      {"GET /healthz HTTP/2.0\r\n\r\n", "505 HTTP Version Not Supported"},
      {"GET http://x/healthz HTTP/1.1\r\n\r\n", "400 Bad Request"},
      {"GET /v1/grants/%zz/token HTTP/1.1\r\n\r\n", "400 Bad Request"},
      {"GET /healthz HTTP/1.1\r\nNo colon here\r\n\r\n", "400 Bad Request"},
      {"GET /healthz HTTP/1.1\r\nX-Big: " + std::string(9000, 'a') + "\r\n\r\n", "431 Request Header Fields Too Large"},
      {"GET /healthz HTTP/1.1\r\nX-Big: " + std::string(20000, 'a'), "431 Request Header Fields Too Large"},
  };
  for (const auto& [request, status] : bad) {
    const auto answer = raw_exchange(base, request);
    EXPECT_EQ(answer.rfind("HTTP/1.1 " + status + "\r\n", 0), 0U)
        << request.substr(0, 60) << " -> " << answer.substr(0, 200);
    EXPECT_NE(answer.find("\"error\""), std::string::npos) << answer.substr(0, 200);
    EXPECT_NE(answer.find("Connection: close"), std::string::npos);
  }
  // A body on a GET is framed by RFC 9112 (read, then ignored), not a malformed request.
  for (const std::string request : {"GET /healthz HTTP/1.1\r\nConnection: close\r\nContent-Length: 5\r\n\r\nhello",
                                    "GET /healthz HTTP/1.1\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n"
                                    "5\r\nhello\r\n0\r\n\r\n"}) {
    const auto answer = raw_exchange(base, request);
    EXPECT_EQ(answer.rfind("HTTP/1.1 200 OK\r\n", 0), 0U) << answer.substr(0, 200);
    EXPECT_EQ(count(answer, "HTTP/1.1 "), 1U) << "the body is not read as a second request: " << answer;
  }
  EXPECT_EQ(read("/v1/grants/" + std::to_string(grant_id) + "/token", key).status, 200);
  EXPECT_EQ(daemon().log().find(key), std::string::npos);
}

TEST(TokenListenerStartup, DaemonRefusesATokenPortAlreadyInUse) {
  // The token port of a second daemon is the first daemon's admin port: an error at start, named.
  const std::string dir = test::make_temp_dir("mediax-e2e-token-port");
  const std::string db = cluster().create_database(random_hex("e2e_token_port_", 8));
  Daemon first(db, dir);
  const auto admin_port = test::parse_url(first.url(""))->port;
  const std::string config = dir + "/second.toml";
  write_daemon_config(config, db, test::free_port(), "",
                      "token_listen = \"127.0.0.1:" + std::to_string(admin_port) + "\"");
  test::ProcessOptions opts;
  opts.log_dir = dir;
  const auto r = test::run_process(mediaxd_bin(), {"--config", config}, opts, 30s);
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE((r.out + r.err).find("cannot listen on 127.0.0.1:" + std::to_string(admin_port) + " (admin.token_listen)"),
            std::string::npos)
      << r.out << r.err;
}

}  // namespace
}  // namespace mediax::e2e
