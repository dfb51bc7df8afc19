#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <set>
#include <string>

#include "config/config.hpp"
#include "support/config_error.hpp"

using namespace mediax;

namespace {

std::string error_of(const std::string& text) { return test::config_error_of(text); }

std::string write_temp(const std::string& name, const std::string& text) {
  const std::string path = testing::TempDir() + "/" + name;
  std::ofstream(path) << text;
  return path;
}

const char* kFullFile = R"(# every key, none at its default
[database]
url = "host=db.internal dbname=tokens user=mediax"
pool_size = 12

[admin]
listen = "[::1]:9443"
public_url = "https://tokens.example.com/mediax/"
max_body_bytes = 65536
threads = 3

[refresh]
fraction = 0.5
min_margin_seconds = 120
jitter_seconds = 0
max_concurrent = 64
retry_min_seconds = 10
retry_max_seconds = 1200
default_expires_in = 7200
lease_seconds = 90
connect_timeout_ms = 2500
request_timeout_ms = 30000

[oauth]
state_ttl_seconds = 900

[log]
level = "debug"
format = "json"

[platforms.douyin]
base_url = "http://127.0.0.1:18001"

[platforms.wechat]
open_base_url = "http://127.0.0.1:18002"
api_base_url = "http://127.0.0.1:18003/api"
mp_base_url = "http://127.0.0.1:18005/mp"

[platforms.google]
auth_url = "http://127.0.0.1:18004/auth"
token_url = "http://127.0.0.1:18004/token"
revoke_url = "http://127.0.0.1:18004/revoke"
)";

}  // namespace

TEST(Config, EmptyFileGivesTheDocumentedDefaults) {
  const Config c = parse_config("", "empty.toml");
  EXPECT_EQ(c.path, "empty.toml");
  EXPECT_EQ(c.database.url, "postgresql:///mediax");
  EXPECT_EQ(c.database.pool_size, 8);
  EXPECT_EQ(c.admin.listen, "127.0.0.1:8080");
  EXPECT_EQ(c.admin.public_url, "http://127.0.0.1:8080");
  EXPECT_EQ(c.admin.max_body_bytes, 1048576u);
  EXPECT_EQ(c.admin.threads, 16);
  EXPECT_EQ(c.admin.event_threads, 2);
  EXPECT_EQ(c.admin.header_timeout_seconds, 10);
  EXPECT_EQ(c.admin.body_timeout_seconds, 30);
  EXPECT_EQ(c.admin.idle_timeout_seconds, 5);
  EXPECT_EQ(c.admin.max_connections, 16384);
  EXPECT_DOUBLE_EQ(c.refresh.fraction, 0.2);
  EXPECT_EQ(c.refresh.min_margin_seconds, 60);
  EXPECT_EQ(c.refresh.jitter_seconds, 15);
  EXPECT_EQ(c.refresh.max_concurrent, 512);
  EXPECT_EQ(c.refresh.retry_min_seconds, 5);
  EXPECT_EQ(c.refresh.retry_max_seconds, 600);
  EXPECT_EQ(c.refresh.default_expires_in, 3600);
  EXPECT_EQ(c.refresh.lease_seconds, 60);
  EXPECT_EQ(c.refresh.sweep_seconds, 30);
  EXPECT_EQ(c.refresh.shutdown_grace_seconds, 10);
  EXPECT_EQ(c.refresh.connect_timeout_ms, 5000);
  EXPECT_EQ(c.refresh.request_timeout_ms, 15000);
  EXPECT_EQ(c.refresh.breaker_failures, 5);
  EXPECT_EQ(c.refresh.breaker_cooldown_seconds, 30);
  EXPECT_EQ(c.refresh.breaker_max_cooldown_seconds, 600);
  EXPECT_EQ(c.refresh.max_in_flight_per_endpoint, 0);
  EXPECT_EQ(c.oauth.state_ttl_seconds, 600);
  EXPECT_EQ(c.oauth.connect_link_ttl_seconds, 300);
  EXPECT_EQ(c.webhook.reauth_notice_days, 7);
  EXPECT_EQ(c.log.level, "info");
  EXPECT_EQ(c.log.format, "text");
  EXPECT_EQ(c.callback_url(), "http://127.0.0.1:8080/oauth/callback");
}

TEST(Config, PlatformUrlsDefaultToTheRealHostsEvenWhenOtherPlatformKeysAreSet) {
  const Config c = parse_config("[platforms.wechat]\napi_base_url = \"http://127.0.0.1:1\"\n", "p.toml");
  EXPECT_EQ(c.platforms.at("douyin").at("base_url"), "https://open.douyin.com");
  EXPECT_EQ(c.platforms.at("wechat").at("open_base_url"), "https://open.weixin.qq.com");
  EXPECT_EQ(c.platforms.at("wechat").at("api_base_url"), "http://127.0.0.1:1");
  EXPECT_EQ(c.platforms.at("wechat").at("mp_base_url"), "https://mp.weixin.qq.com");
  EXPECT_EQ(c.platforms.at("google").at("auth_url"), "https://accounts.google.com/o/oauth2/v2/auth");
  EXPECT_EQ(c.platforms.at("google").at("token_url"), "https://oauth2.googleapis.com/token");
  EXPECT_EQ(c.platforms.at("google").at("revoke_url"), "https://oauth2.googleapis.com/revoke");
  EXPECT_EQ(c.platforms.size(), 3u);
  EXPECT_EQ(c.platforms.at("google").at("jwks_url"), "https://www.googleapis.com/oauth2/v3/certs");
  EXPECT_EQ(c.platforms.at("google").at("issuer"), "https://accounts.google.com");
  EXPECT_EQ(c.platforms.at("google").size(), 5u);
}

TEST(Config, FullFileSetsEveryKey) {
  const Config c = parse_config(kFullFile, "full.toml");
  EXPECT_EQ(c.database.url, "host=db.internal dbname=tokens user=mediax");
  EXPECT_EQ(c.database.pool_size, 12);
  EXPECT_EQ(c.admin.listen, "[::1]:9443");
  EXPECT_EQ(c.admin.public_url, "https://tokens.example.com/mediax/");
  EXPECT_EQ(c.public_url_trimmed(), "https://tokens.example.com/mediax");
  EXPECT_EQ(c.callback_url(), "https://tokens.example.com/mediax/oauth/callback");
  EXPECT_EQ(c.admin.max_body_bytes, 65536u);
  EXPECT_EQ(c.admin.threads, 3);
  EXPECT_DOUBLE_EQ(c.refresh.fraction, 0.5);
  EXPECT_EQ(c.refresh.min_margin_seconds, 120);
  EXPECT_EQ(c.refresh.jitter_seconds, 0);
  EXPECT_EQ(c.refresh.max_concurrent, 64);
  EXPECT_EQ(c.refresh.retry_min_seconds, 10);
  EXPECT_EQ(c.refresh.retry_max_seconds, 1200);
  EXPECT_EQ(c.refresh.default_expires_in, 7200);
  EXPECT_EQ(c.refresh.lease_seconds, 90);
  EXPECT_EQ(c.refresh.connect_timeout_ms, 2500);
  EXPECT_EQ(c.refresh.request_timeout_ms, 30000);
  EXPECT_EQ(c.oauth.state_ttl_seconds, 900);
  EXPECT_EQ(c.log.level, "debug");
  EXPECT_EQ(c.log.format, "json");
  EXPECT_EQ(c.platforms.at("douyin").at("base_url"), "http://127.0.0.1:18001");
  EXPECT_EQ(c.platforms.at("wechat").at("open_base_url"), "http://127.0.0.1:18002");
  EXPECT_EQ(c.platforms.at("wechat").at("api_base_url"), "http://127.0.0.1:18003/api");
  EXPECT_EQ(c.platforms.at("wechat").at("mp_base_url"), "http://127.0.0.1:18005/mp");
  EXPECT_EQ(c.platforms.at("google").at("auth_url"), "http://127.0.0.1:18004/auth");
  EXPECT_EQ(c.platforms.at("google").at("token_url"), "http://127.0.0.1:18004/token");
  EXPECT_EQ(c.platforms.at("google").at("revoke_url"), "http://127.0.0.1:18004/revoke");
}

TEST(Config, RenderedConfigParsesBackToTheSameValues) {
  const Config full = parse_config(kFullFile, "x.toml");
  const std::string text = render_config(full);
  EXPECT_EQ(parse_config(text, "x.toml"), full) << text;
  EXPECT_NE(full, parse_config("", "x.toml"));
  EXPECT_EQ(parse_config(render_config(Config{}), "x.toml"), parse_config("", "x.toml"));
  // Strings with quotes and backslashes survive.
  Config odd;
  odd.database.url = "password='a\"b\\c' host=x";
  EXPECT_EQ(parse_config(render_config(odd), "y.toml").database.url, odd.database.url);
}

TEST(Config, KeyDocsDescribeEveryKeyWithItsDefault) {
  const auto& docs = config_key_docs();
  ASSERT_GE(docs.size(), 29u);  // every key below is checked; new keys only add rows
  std::set<std::string> keys;
  for (const auto& d : docs) {
    EXPECT_TRUE(keys.insert(d.key).second) << "duplicate " << d.key;
    EXPECT_FALSE(d.description.empty()) << d.key;
    EXPECT_TRUE(d.type == "integer" || d.type == "float" || d.type == "string" || d.type == "array of strings" ||
                d.type == "boolean")
        << d.key;
    // Each documented default, written into a file, is accepted and is the default.
    const auto dot = d.key.rfind('.');
    const std::string text = "[" + d.key.substr(0, dot) + "]\n" + d.key.substr(dot + 1) + " = " + d.default_value;
    EXPECT_EQ(parse_config(text, "d.toml"), parse_config("", "d.toml")) << text;
  }
  auto doc = [&](const std::string& key) {
    for (const auto& d : docs) {
      if (d.key == key) return d;
    }
    ADD_FAILURE() << "no doc for " << key;
    return ConfigKeyDoc{};
  };
  EXPECT_EQ(doc("refresh.fraction").default_value, "0.2");
  EXPECT_EQ(doc("refresh.fraction").type, "float");
  EXPECT_TRUE(doc("refresh.fraction").reloadable);
  EXPECT_NE(doc("refresh.fraction").description.find("0.0..0.9"), std::string::npos);
  EXPECT_EQ(doc("database.pool_size").default_value, "8");
  EXPECT_FALSE(doc("database.pool_size").reloadable);
  EXPECT_EQ(doc("log.level").default_value, "\"info\"");
  EXPECT_TRUE(doc("log.level").reloadable);
  EXPECT_EQ(doc("platforms.douyin.base_url").default_value, "\"https://open.douyin.com\"");
  EXPECT_EQ(doc("platforms.wechat.mp_base_url").default_value, "\"https://mp.weixin.qq.com\"");
}

TEST(Config, UnknownKeysAndTablesAreErrorsWithTheirLine) {
  EXPECT_EQ(error_of("[refresh]\nfraction = 0.3\nspeed = 5\n"),
            "test.toml:3:1: refresh.speed: unknown key (expected one of: breaker_cooldown_seconds breaker_failures "
            "breaker_max_cooldown_seconds connect_timeout_ms default_expires_in fraction jitter_seconds "
            "keep_alive_seconds lease_seconds max_concurrent max_in_flight_per_endpoint min_margin_seconds "
            "request_timeout_ms "
            "retry_max_seconds retry_min_seconds shutdown_grace_seconds sweep_seconds)");
  EXPECT_EQ(error_of("\n\nverbose = true\n").rfind("test.toml:3:1: verbose: unknown key", 0), 0u);
  EXPECT_EQ(error_of("[log]\nlevel = \"info\"\n\n[telemetry]\nport = 9\n")
                .rfind("test.toml:4:2: telemetry: unknown table", 0),
            0u);
  // [metrics] is a table (metrics.require_key); a key it does not have is named as such.
  EXPECT_EQ(error_of("[metrics]\nport = 9\n").rfind("test.toml:2:1: metrics.port: unknown key", 0), 0u);
  EXPECT_EQ(error_of("[metrics]\nrequire_key = \"yes\"\n"),
            "test.toml:2:15: metrics.require_key: expected a boolean, got a string");
  EXPECT_TRUE(parse_config("[metrics]\nrequire_key = true\n", "t").metrics.require_key);
  EXPECT_FALSE(parse_config("", "t").metrics.require_key);
  EXPECT_EQ(error_of("[platforms.tiktok]\nbase_url = \"https://x\"\n")
                .rfind("test.toml:1:12: platforms.tiktok: unknown table (expected one of: douyin google wechat)", 0),
            0u);
  EXPECT_EQ(error_of("[platforms.douyin]\nbase_url = \"https://x\"\nsandbox_url = \"https://y\"\n")
                .rfind("test.toml:3:1: platforms.douyin.sandbox_url: unknown key", 0),
            0u);
  EXPECT_EQ(error_of("log.colour = \"red\"\n").rfind("test.toml:1:5: log.colour: unknown key", 0), 0u);
}

TEST(Config, WrongTypesAreErrorsNamingKeyAndLine) {
  EXPECT_EQ(error_of("[database]\npool_size = \"4\"\n"),
            "test.toml:2:13: database.pool_size: expected an integer, got a string");
  EXPECT_EQ(error_of("[database]\npool_size = 4.0\n"),
            "test.toml:2:13: database.pool_size: expected an integer, got a float");
  EXPECT_EQ(error_of("[refresh]\nfraction = \"0.2\"\n"),
            "test.toml:2:12: refresh.fraction: expected a float, got a string");
  EXPECT_EQ(error_of("[log]\nlevel = 3\n"), "test.toml:2:9: log.level: expected a string, got an integer");
  EXPECT_EQ(error_of("[admin]\nthreads = [1]\n"), "test.toml:2:11: admin.threads: expected an integer, got an array");
  EXPECT_EQ(error_of("refresh = 5\n"), "test.toml:1:11: refresh: expected a table, got an integer");
  EXPECT_EQ(error_of("[refresh.fraction]\n").rfind("test.toml:1:", 0), 0u);
  EXPECT_NE(error_of("[refresh.fraction]\n").find("refresh.fraction: expected a float, got a table"),
            std::string::npos);
}

TEST(Config, IntegersAreAcceptedForFloatKeys) {
  EXPECT_DOUBLE_EQ(parse_config("[refresh]\nfraction = 0\n", "t").refresh.fraction, 0.0);
  EXPECT_EQ(error_of("[refresh]\nfraction = 1\n"),
            "test.toml:2:12: refresh.fraction: must be between 0.0 and 0.9, got 1.0");
}

TEST(Config, OutOfRangeValuesAreErrorsNamingKeyAndBounds) {
  EXPECT_EQ(error_of("[admin]\nthreads = 0\n"), "test.toml:2:11: admin.threads: must be between 1 and 256, got 0");
  EXPECT_EQ(error_of("[admin]\nthreads = 257\n"), "test.toml:2:11: admin.threads: must be between 1 and 256, got 257");
  EXPECT_EQ(error_of("[admin]\nmax_body_bytes = 1023\n"),
            "test.toml:2:18: admin.max_body_bytes: must be between 1024 and 67108864, got 1023");
  EXPECT_EQ(error_of("[refresh]\nfraction = 0.95\n"),
            "test.toml:2:12: refresh.fraction: must be between 0.0 and 0.9, got 0.95");
  EXPECT_EQ(error_of("[refresh]\nfraction = nan\n"),
            "test.toml:2:12: refresh.fraction: must be between 0.0 and 0.9, got nan");
  EXPECT_EQ(error_of("[refresh]\nmin_margin_seconds = -1\n"),
            "test.toml:2:22: refresh.min_margin_seconds: must be between 0 and 86400, got -1");
  EXPECT_EQ(error_of("[oauth]\nstate_ttl_seconds = 59\n"),
            "test.toml:2:21: oauth.state_ttl_seconds: must be between 60 and 3600, got 59");
  // Bounds are inclusive.
  const Config edge = parse_config("[admin]\nthreads = 256\n[refresh]\nfraction = 0.9\njitter_seconds = 0\n", "t");
  EXPECT_EQ(edge.admin.threads, 256);
  EXPECT_DOUBLE_EQ(edge.refresh.fraction, 0.9);
}

TEST(Config, EveryNumericKeyEnforcesItsDocumentedBounds) {
  struct Bound {
    const char* table;
    const char* key;
    std::int64_t lo, hi;
  };
  // The ranges documented in config.hpp.
  const Bound bounds[] = {
      {"database", "pool_size", 1, 64},
      {"admin", "max_body_bytes", 1024, 64 << 20},
      {"admin", "threads", 1, 256},
      {"admin", "event_threads", 1, 64},
      {"admin", "token_threads", 1, 64},  // the former name of event_threads
      {"admin", "header_timeout_seconds", 1, 300},
      {"admin", "body_timeout_seconds", 1, 300},
      {"admin", "idle_timeout_seconds", 1, 300},
      {"admin", "max_connections", 16, 1000000},
      {"refresh", "min_margin_seconds", 0, 86400},
      {"refresh", "jitter_seconds", 0, 3600},
      {"refresh", "max_concurrent", 1, 4096},
      {"refresh", "retry_min_seconds", 1, 3600},
      {"refresh", "retry_max_seconds", 1, 86400},
      {"refresh", "default_expires_in", 60, 31536000},
      {"refresh", "lease_seconds", 5, 3600},
      {"refresh", "connect_timeout_ms", 100, 60000},
      {"refresh", "request_timeout_ms", 100, 300000},
      {"oauth", "state_ttl_seconds", 60, 3600},
      {"oauth", "connect_link_ttl_seconds", 30, 3600},
      {"refresh", "sweep_seconds", 1, 3600},
      {"refresh", "shutdown_grace_seconds", 0, 600},
      {"refresh", "keep_alive_seconds", 0, 300},
      {"webhook", "reauth_notice_days", 0, 60},
  };
  for (const auto& b : bounds) {
    // Keep the retry pair consistent so only the bound under test can fail.
    const std::string extra = std::string(b.key) == "retry_min_seconds"   ? "retry_max_seconds = 86400\n"
                              : std::string(b.key) == "retry_max_seconds" ? "retry_min_seconds = 1\n"
                                                                          : "";
    auto file = [&](std::int64_t v) {
      return "[" + std::string(b.table) + "]\n" + extra + b.key + " = " + std::to_string(v) + "\n";
    };
    const std::string name = std::string(b.table) + "." + b.key;
    EXPECT_EQ(error_of(file(b.lo)), "") << name;
    EXPECT_EQ(error_of(file(b.hi)), "") << name;
    EXPECT_NE(error_of(file(b.lo - 1))
                  .find(name + ": must be between " + std::to_string(b.lo) + " and " + std::to_string(b.hi)),
              std::string::npos)
        << name;
    EXPECT_NE(error_of(file(b.hi + 1)).find(name + ": must be between"), std::string::npos) << name;
  }
}

TEST(Config, BadEnumValuesListTheAllowedOnes) {
  EXPECT_EQ(error_of("[log]\nlevel = \"loud\"\n"),
            "test.toml:2:9: log.level: must be one of trace, debug, info, warn, error, critical, off; got \"loud\"");
  EXPECT_EQ(error_of("[log]\nformat = \"xml\"\n"),
            "test.toml:2:10: log.format: must be one of text, json; got \"xml\"");
  EXPECT_EQ(parse_config("[log]\nlevel = \"off\"\n", "t").log.level, "off");
}

TEST(Config, RetryMaxBelowRetryMinIsAnError) {
  EXPECT_EQ(error_of("[refresh]\nretry_min_seconds = 30\nretry_max_seconds = 20\n"),
            "test.toml:3:21: refresh.retry_max_seconds: must be >= refresh.retry_min_seconds (30), got 20");
  // Only the minimum written: it is the one to blame (the maximum is the default 600).
  EXPECT_EQ(error_of("[refresh]\nretry_min_seconds = 1000\n"),
            "test.toml:2:21: refresh.retry_min_seconds: must be <= refresh.retry_max_seconds (600), got 1000");
  EXPECT_EQ(error_of("[refresh]\nretry_max_seconds = 4\n"),
            "test.toml:2:21: refresh.retry_max_seconds: must be >= refresh.retry_min_seconds (5), got 4");
  EXPECT_EQ(parse_config("[refresh]\nretry_min_seconds = 30\nretry_max_seconds = 30\n", "t").refresh.retry_max_seconds,
            30);
}

TEST(Config, PublicUrlMustBeHttpOrHttps) {
  for (const char* bad : {"ftp://example.com", "example.com", "https://", "http:///path", "https://exa mple.com",
                          "https://example.com/?x=1", "https://example.com:99999", "https://example.com:0",
                          "https://user:hunter2@example.com"}) {
    const std::string err = error_of(std::string("[admin]\npublic_url = \"") + bad + "\"\n");
    EXPECT_EQ(err.rfind("test.toml:2:14: admin.public_url: must", 0), 0u) << bad << " -> " << err;
    EXPECT_EQ(err.find("hunter2"), std::string::npos) << "value echoed: " << err;
  }
  for (const char* good :
       {"http://localhost", "HTTPS://Example.com:8443/base/", "http://[::1]:8080", "http://10.0.0.1"}) {
    EXPECT_EQ(error_of(std::string("[admin]\npublic_url = \"") + good + "\"\n"), "") << good;
  }
}

TEST(Config, ListenMustBeHostColonPort) {
  for (const char* bad : {"8080", "localhost", ":8080", "localhost:", "localhost:99999", "localhost:http", "[::1]",
                          "[::1]8080", "::1:8080", "[]:80", "local host:80"}) {
    EXPECT_EQ(error_of(std::string("[admin]\nlisten = \"") + bad + "\"\n")
                  .rfind("test.toml:2:10: admin.listen: must be host:port", 0),
              0u)
        << bad;
  }
  for (const char* good : {"0.0.0.0:0", "[::1]:8080", "localhost:9000", "[::]:65535"}) {
    EXPECT_EQ(parse_config(std::string("[admin]\nlisten = \"") + good + "\"\n", "t").admin.listen, good);
  }
}

TEST(Config, TokenListenIsOffByDefaultAndChecked) {
  EXPECT_EQ(parse_config("", "t").admin.token_listen, "");
  const auto c = parse_config("[admin]\ntoken_listen = \"127.0.0.1:8091\"\n", "t");
  EXPECT_EQ(c.admin.token_listen, "127.0.0.1:8091");
  EXPECT_EQ(
      error_of("[admin]\ntoken_listen = \"8091\"\n").rfind("test.toml:2:16: admin.token_listen: must be host:port", 0),
      0u);
  EXPECT_EQ(error_of("[admin]\nlisten = \"127.0.0.1:8080\"\ntoken_listen = \"127.0.0.1:8080\"\n"),
            "test.toml:3:16: admin.token_listen: must differ from admin.listen (127.0.0.1:8080)");
  EXPECT_EQ(error_of("[admin]\nlisten = \"127.0.0.1:0\"\ntoken_listen = \"127.0.0.1:0\"\n"), "")
      << "port 0 twice: two different free ports";
  // Plain HTTP beside an HTTPS admin API: loopback only.
  const std::string tls = "[admin]\ntls_cert_file = \"/c.pem\"\ntls_key_file = \"/k.pem\"\n";
  EXPECT_EQ(error_of(tls + "token_listen = \"0.0.0.0:8091\"\n")
                .rfind("test.toml:4:16: admin.token_listen: serves plain HTTP", 0),
            0u)
      << error_of(tls + "token_listen = \"0.0.0.0:8091\"\n");
  for (const char* ok : {"127.0.0.1:8091", "[::1]:8091", "localhost:8091"}) {
    EXPECT_EQ(error_of(tls + "token_listen = \"" + ok + "\"\n"), "") << ok;
  }
  EXPECT_EQ(error_of("[admin]\ntoken_listen = \"0.0.0.0:8091\"\n"), "")
      << "plain HTTP everywhere: the operator's choice";
}

TEST(Config, TokenThreadsIsTheFormerNameOfEventThreads) {
  // Files written for the token listener's own event loops keep working: the loops are the server's now.
  const auto old_name = parse_config("[admin]\ntoken_threads = 4\n", "t");
  EXPECT_EQ(old_name.admin.event_threads, 4);
  EXPECT_EQ(old_name, parse_config("[admin]\nevent_threads = 4\n", "t"));
  // Errors name the key as written.
  EXPECT_EQ(error_of("[admin]\ntoken_threads = 0\n"),
            "test.toml:2:17: admin.token_threads: must be between 1 and 64, got 0");
  EXPECT_EQ(error_of("[admin]\ntoken_threads = \"2\"\n"),
            "test.toml:2:17: admin.token_threads: expected an integer, got a string");
  // Both names at once: which one would win is not a guess the daemon makes.
  EXPECT_EQ(error_of("[admin]\nevent_threads = 2\ntoken_threads = 4\n"),
            "test.toml:3:17: admin.token_threads: is the former name of admin.event_threads, which is set as well: "
            "keep only admin.event_threads");
  EXPECT_EQ(error_of("[admin]\ntoken_threads = 4\nevent_threads = 4\n")
                .rfind("test.toml:2:17: admin.token_threads: is the former name", 0),
            0u)
      << "equal values too";
  // Rendered and documented under the current name only.
  const std::string rendered = render_config(old_name);
  EXPECT_NE(rendered.find("\nevent_threads = 4\n"), std::string::npos) << rendered;
  EXPECT_EQ(rendered.find("token_threads ="), std::string::npos) << rendered;
  EXPECT_EQ(parse_config(rendered, "t"), old_name);
  for (const auto& d : config_key_docs()) EXPECT_NE(d.key, "admin.token_threads");
}

TEST(Config, HttpServerKeysHaveTheirDefaultsAndAreSet) {
  const auto c = parse_config(
      "[admin]\nthreads = 32\nevent_threads = 3\nheader_timeout_seconds = 2\nbody_timeout_seconds = 7\n"
      "idle_timeout_seconds = 1\nmax_connections = 20000\n",
      "t");
  EXPECT_EQ(c.admin.threads, 32);
  EXPECT_EQ(c.admin.event_threads, 3);
  EXPECT_EQ(c.admin.header_timeout_seconds, 2);
  EXPECT_EQ(c.admin.body_timeout_seconds, 7);
  EXPECT_EQ(c.admin.idle_timeout_seconds, 1);
  EXPECT_EQ(c.admin.max_connections, 20000);
  // Not reloadable: the server's threads and limits are made at start.
  for (const char* key : {"admin.threads", "admin.event_threads", "admin.header_timeout_seconds",
                          "admin.body_timeout_seconds", "admin.idle_timeout_seconds", "admin.max_connections"}) {
    bool found = false;
    for (const auto& d : config_key_docs()) {
      if (d.key == key) {
        found = true;
        EXPECT_FALSE(d.reloadable) << key;
      }
    }
    EXPECT_TRUE(found) << key;
  }
  EXPECT_EQ(non_reloadable_changes(parse_config("", "t"), c).size(), 6u);
}

TEST(Config, PlatformUrlsMustBeHttpUrls) {
  EXPECT_EQ(error_of("[platforms.google]\ntoken_url = \"oauth2.googleapis.com/token\"\n"),
            "test.toml:2:13: platforms.google.token_url: must be an http:// or https:// URL");
  EXPECT_EQ(error_of("platforms = \"x\"\n"), "test.toml:1:13: platforms: expected a table, got a string");
  EXPECT_EQ(error_of("[platforms]\ndouyin = 1\n"),
            "test.toml:2:10: platforms.douyin: expected a table, got an integer");
}

TEST(Config, DatabaseUrlMustNotBeEmptyAndIsNeverEchoed) {
  EXPECT_EQ(error_of("[database]\nurl = \"\"\n"), "test.toml:2:7: database.url: must not be empty");
  EXPECT_EQ(error_of("[database]\nurl = 5\n"), "test.toml:2:7: database.url: expected a string, got an integer");
}

TEST(Config, SyntaxErrorsNameTheFileAndPosition) {
  const std::string err = error_of("[refresh]\nfraction = 0.3\nlease_seconds = \n");
  EXPECT_EQ(err.rfind("test.toml:3:", 0), 0u) << err;
  EXPECT_NE(err.find("TOML syntax error"), std::string::npos) << err;
  const std::string dup = error_of("[log]\nlevel = \"info\"\nlevel = \"debug\"\n");
  EXPECT_EQ(dup.rfind("test.toml:3:", 0), 0u) << dup;
}

TEST(Config, LoadConfigReadsTheFileAndRemembersItsPath) {
  const std::string path = write_temp("mediax_config_ok.toml", "[admin]\nthreads = 2\n");
  const Config c = load_config(path);
  EXPECT_EQ(c.path, path);
  EXPECT_EQ(c.admin.threads, 2);
}

TEST(Config, LoadConfigErrorsNameTheFile) {
  const std::string missing = testing::TempDir() + "/mediax_no_such_config.toml";
  try {
    load_config(missing);
    FAIL() << "no error for a missing file";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()), missing + ": cannot read config file: No such file or directory");
  }
  try {
    load_config(testing::TempDir());
    FAIL() << "no error for a directory";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()), testing::TempDir() + ": cannot read config file: is a directory");
  }
  const std::string bad = write_temp("mediax_config_bad.toml", "[admin]\nthreads = 0\n");
  try {
    load_config(bad);
    FAIL() << "no error for a bad value";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()), bad + ":2:11: admin.threads: must be between 1 and 256, got 0");
  }
}

TEST(Config, NonReloadableChangesListOnlyKeysThatNeedARestart) {
  const Config running = parse_config("", "a.toml");
  Config loaded = running;
  loaded.log.level = "debug";
  loaded.refresh.fraction = 0.4;
  EXPECT_TRUE(non_reloadable_changes(running, loaded).empty());
  loaded.admin.listen = "127.0.0.1:9";
  loaded.platforms["google"]["token_url"] = "http://127.0.0.1:1/token";
  EXPECT_EQ(non_reloadable_changes(running, loaded),
            (std::vector<std::string>{"admin.listen", "platforms.google.token_url"}));
}
