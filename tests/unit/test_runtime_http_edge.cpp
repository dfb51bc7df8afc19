// Config -> the HTTP server's settings (runtime/http_edge_settings.hpp) and the open-file budget
// (runtime/open_files.hpp).
#include <gtest/gtest.h>

#include "config/config.hpp"
#include "runtime/http_edge_settings.hpp"
#include "runtime/open_files.hpp"

namespace mediax {
namespace {

TEST(HttpEdgeSettings, LimitsComeFromTheAdminKeys) {
  const Config c = parse_config(
      "[admin]\nthreads = 9\nevent_threads = 3\nheader_timeout_seconds = 2\nbody_timeout_seconds = 7\n"
      "idle_timeout_seconds = 4\n",
      "t");
  const ServerLimits l = server_limits(c.admin);
  EXPECT_EQ(l.header_timeout, std::chrono::seconds(2));
  EXPECT_EQ(l.body_timeout, std::chrono::seconds(7));
  EXPECT_EQ(l.idle_timeout, std::chrono::seconds(4));
  EXPECT_EQ(l.event_threads, 3);
  EXPECT_EQ(l.handler_threads, 9);
  const ServerLimits d = server_limits(Config{}.admin);
  EXPECT_EQ(d.header_timeout, std::chrono::seconds(10));
  EXPECT_EQ(d.body_timeout, std::chrono::seconds(30));
  EXPECT_EQ(d.idle_timeout, std::chrono::seconds(5));
  EXPECT_EQ(d.event_threads, 2);
  EXPECT_EQ(d.handler_threads, 16);
}

TEST(HttpEdgeSettings, OneListenerWithoutTokenListen) {
  const auto specs =
      listener_specs(parse_config("[admin]\nlisten = \"127.0.0.1:0\"\nmax_body_bytes = 4096\n", "t").admin);
  ASSERT_EQ(specs.size(), 1u);
  EXPECT_EQ(specs[0].config_key, "admin.listen");
  EXPECT_EQ(specs[0].address, "127.0.0.1:0");
  EXPECT_EQ(specs[0].kind, ListenerKind::admin);
  EXPECT_EQ(specs[0].tls_cert_file, "");
  EXPECT_EQ(specs[0].max_body_bytes, 4096u);
  EXPECT_EQ(specs[0].max_connections, 16384u);
}

TEST(HttpEdgeSettings, TokenListenIsASecondPlainListener) {
  const auto specs = listener_specs(parse_config("[admin]\nlisten = \"127.0.0.1:8443\"\ntls_cert_file = \"/c.pem\"\n"
                                                 "tls_key_file = \"/k.pem\"\ntoken_listen = \"127.0.0.1:8081\"\n"
                                                 "max_connections = 100\n",
                                                 "t")
                                        .admin);
  ASSERT_EQ(specs.size(), 2u);
  EXPECT_EQ(specs[0].tls_cert_file, "/c.pem");
  EXPECT_EQ(specs[0].tls_key_file, "/k.pem");
  EXPECT_EQ(specs[0].max_connections, 100u);
  EXPECT_EQ(specs[1].config_key, "admin.token_listen");
  EXPECT_EQ(specs[1].address, "127.0.0.1:8081");
  EXPECT_EQ(specs[1].kind, ListenerKind::token);
  EXPECT_EQ(specs[1].tls_cert_file, "") << "the token listener is plain HTTP";
  EXPECT_EQ(specs[1].tls_key_file, "");
  EXPECT_EQ(specs[1].max_connections, 100u) << "the cap is per listener";
}

TEST(OpenFiles, NeededIsListenersTimesConnectionsPlusPoolsAndAMargin) {
  Config c;
  EXPECT_EQ(open_files_needed(c), 16384u + 8u + 512u + kOpenFileMargin);
  c.admin.token_listen = "127.0.0.1:8081";
  EXPECT_EQ(open_files_needed(c), 2u * 16384u + 8u + 512u + kOpenFileMargin);
  c.admin.max_connections = 1000000;
  c.database.pool_size = 64;
  c.refresh.max_concurrent = 1024;
  EXPECT_EQ(open_files_needed(c), 2000000u + 64u + 1024u + kOpenFileMargin);
  // What the systemd unit's LimitNOFILE=65536 is sized for: both listeners at the defaults.
  EXPECT_LE(open_files_needed(parse_config("[admin]\ntoken_listen = \"127.0.0.1:8081\"\n", "t")), 65536u);
}

TEST(OpenFiles, WarningNamesTheNumbersOnlyWhenTheLimitIsShort) {
  Config c;
  c.admin.token_listen = "127.0.0.1:8081";
  const auto needed = open_files_needed(c);
  EXPECT_EQ(open_file_warning(c, needed, OpenFileLimit{needed, needed, false, false}), "");
  EXPECT_EQ(open_file_warning(c, needed, OpenFileLimit{0, 0, false, true}), "") << "unlimited";
  const std::string w = open_file_warning(c, needed, OpenFileLimit{20000, 20000, true, false});
  EXPECT_NE(w.find("open file limit 20000 (hard 20000)"), std::string::npos) << w;
  EXPECT_NE(w.find(std::to_string(needed)), std::string::npos) << w;
  EXPECT_NE(w.find("2 listener(s) x admin.max_connections 16384"), std::string::npos) << w;
  EXPECT_NE(w.find("database.pool_size 8"), std::string::npos) << w;
  EXPECT_NE(w.find("refresh.max_concurrent 512"), std::string::npos) << w;
  EXPECT_EQ(w.find('\n'), std::string::npos) << "one line";
}

TEST(OpenFiles, RaiseLeavesTheSoftLimitAtTheHardOne) {
  const OpenFileLimit l = raise_open_file_limit();
  if (!l.unlimited) {
    EXPECT_EQ(l.soft, l.hard);
  }
  EXPECT_GT(l.soft, 0u);
}

}  // namespace
}  // namespace mediax
