// Hostile input on the admin API of a running daemon: nesting bombs, bodies that would dodge the size
// limit (chunked, compressed), bytes that are not UTF-8. Each gets a JSON error and the daemon stays up.
#include <sstream>

#include "harness.hpp"

namespace mediax::e2e {
namespace {

using HostileInput = E2ETest;

json minimal_app(const std::string& name) {
  return {{"name", name},
          {"platform", "oauth2"},
          {"client_id", "c"},
          {"client_secret", "s"},
          {"endpoints", {{"token_url", "https://idp.example/token"}}}};
}

TEST_F(HostileInput, DeeplyNestedJsonIsRefusedAndTheDaemonStaysUp) {
  for (const std::string& body : {std::string(200'000, '['), std::string(33, '[') + std::string(33, ']'),
                                  R"({"name":"deep","options":)" + std::string(40, '[') + std::string(40, ']') + "}"}) {
    auto r = daemon().post_raw("/v1/apps", body, "application/json");
    EXPECT_EQ(r.status, 400) << r.describe();
    EXPECT_EQ(r.json().value("error", ""), "invalid_json") << r.describe();
    EXPECT_NE(r.json().value("message", "").find("deeper than 32"), std::string::npos) << r.describe();
  }
  auto deep_options = minimal_app("deep");
  json nested = json::array();
  for (int i = 0; i < 40; ++i) nested = json::array({nested});
  deep_options["options"] = {{"x", nested}};
  EXPECT_EQ(daemon().post("/v1/apps", deep_options).status, 400);
  EXPECT_EQ(daemon().get("/healthz").status, 200);
  EXPECT_EQ(daemon().get("/v1/apps").json()["apps"].size(), 0U);
}

TEST_F(HostileInput, ChunkedBodiesAreCountedAgainstTheLimitAsTheyAreDechunked) {
  // A chunked body is read (RFC 9112) and checked like any other; it cannot slip past
  // admin.max_body_bytes, which counts the de-chunked bytes.
  const std::string chunk = R"({"name":"chunked","platform":"oauth2"})";
  std::ostringstream raw;
  raw << "POST /v1/apps HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " << daemon().api_key()
      << "\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
      << std::hex << chunk.size() << "\r\n"
      << chunk << "\r\n0\r\n\r\n";
  const std::string answer = raw_exchange(daemon().url(""), raw.str());
  EXPECT_EQ(answer.rfind("HTTP/1.1 400", 0), 0U) << answer;
  // invalid_field, not invalid_json: the de-chunked body was read and parsed.
  EXPECT_NE(answer.find("\"invalid_field\""), std::string::npos) << answer;

  std::ostringstream big;
  big << "POST /v1/apps HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " << daemon().api_key()
      << "\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 17; ++i) big << "10000\r\n" << std::string(0x10000, ' ') << "\r\n";  // 1.06 MiB
  big << "0\r\n\r\n";
  const std::string too_big = raw_exchange(daemon().url(""), big.str());
  EXPECT_EQ(too_big.rfind("HTTP/1.1 413", 0), 0U) << too_big.substr(0, 300);
  EXPECT_EQ(daemon().get("/v1/apps").json()["apps"].size(), 0U) << "nothing was registered";
}

TEST_F(HostileInput, CompressedBodiesAreRefused) {
  // A gzip body, inflated, could be far more than the limit: 1 MiB on the wire can be 1 GiB in memory.
  const std::string body = minimal_app("gz").dump();
  auto r = test::http_request("POST", daemon().url("/v1/apps"), body, "application/json",
                              {{"Authorization", "Bearer " + daemon().api_key()}, {"Content-Encoding", "gzip"}});
  EXPECT_EQ(r.status, 415) << r.describe();
  EXPECT_EQ(r.json().value("error", ""), "unsupported_encoding") << r.describe();
  EXPECT_EQ(daemon().get("/v1/apps").json()["apps"].size(), 0U);
}

TEST_F(HostileInput, PathsThatAreNotUtf8GetJsonErrorsNot500) {
  for (const std::string path : {"/v1/apps/%FF%FE", "/v1/grants/%C3%28", "/v1/nothing/%80"}) {
    auto r = daemon().get(path);
    EXPECT_EQ(r.status, 404) << path << ": " << r.describe();
    EXPECT_FALSE(r.json().is_discarded()) << path << ": " << r.describe();
  }
  EXPECT_EQ(daemon().get("/healthz").status, 200);
}

TEST_F(HostileInput, StringsWithControlCharactersAndOverlongScopesAreRefusedNamingTheField) {
  auto app = minimal_app("ctl");
  app["client_id"] = "id\r\nX-Injected: 1";
  auto r = daemon().post("/v1/apps", app);
  EXPECT_EQ(r.status, 400) << r.describe();
  EXPECT_EQ(r.json().value("message", "").rfind("client_id:", 0), 0U) << r.describe();
  app = minimal_app("scopes");
  app["scopes"] = {std::string(300, 's')};
  r = daemon().post("/v1/apps", app);
  EXPECT_EQ(r.status, 400) << r.describe();
  EXPECT_EQ(r.json().value("message", "").rfind("scopes:", 0), 0U) << r.describe();
  app = minimal_app("opts");
  app["options"] = {{"pkce", false}, {"surprise", 1}};
  r = daemon().post("/v1/apps", app);
  EXPECT_EQ(r.status, 400) << r.describe();
  EXPECT_EQ(r.json().value("message", ""), "options.surprise: unknown option") << r.describe();
}

}  // namespace
}  // namespace mediax::e2e
