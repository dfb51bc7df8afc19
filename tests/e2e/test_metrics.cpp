// GET /metrics on the running daemon: valid Prometheus text, no API key needed, and a refresh
// shows up in the refresh counter, the latency histogram and the database gauges.
#include <map>
#include <regex>
#include <sstream>

#include "harness.hpp"

namespace mediax::e2e {
namespace {

using Metrics = E2ETest;

struct Scrape {
  std::map<std::string, double> samples;     // "name{labels}" -> value
  std::map<std::string, std::string> types;  // family -> type
};

// Parses the text format strictly: every line is a HELP/TYPE comment or `name{labels} value`,
// and every sample belongs to a family announced by TYPE before it.
Scrape parse(const std::string& text) {
  static const std::regex help(R"(# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) .*)");
  static const std::regex type(R"(# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped))");
  static const std::regex sample(
      R"(([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*"(?:,|(?=\})))*\})? ([-+]?(?:[0-9.eE+-]+|Inf|NaN)))");
  Scrape s;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    std::smatch m;
    if (std::regex_match(line, m, type)) {
      s.types[m[1]] = m[2];
    } else if (std::regex_match(line, m, help)) {
      continue;
    } else if (std::regex_match(line, m, sample)) {
      std::string name = m[1];
      std::string family = name;
      for (const char* suffix : {"_bucket", "_sum", "_count"}) {
        auto n = std::string(suffix).size();
        if (!s.types.count(family) && name.size() > n && name.compare(name.size() - n, n, suffix) == 0) {
          family = name.substr(0, name.size() - n);
        }
      }
      require(s.types.count(family) == 1, "sample before its # TYPE line: " + line);
      require(name.rfind("mediax_", 0) == 0, "metric without the mediax_ prefix: " + line);
      s.samples[name + m[2].str()] = std::stod(m[3]);
    } else {
      require(false, "not Prometheus text format: '" + line + "'");
    }
  }
  return s;
}

Scrape scrape(Daemon& d) {
  // No Authorization header: /metrics is public.
  auto r = test::http_get(d.url("/metrics"));
  require(r.status == 200, "GET /metrics: " + r.describe());
  require(r.header("content-type").rfind("text/plain; version=0.0.4", 0) == 0,
          "content type " + r.header("content-type"));
  return parse(r.body);
}

double value(const Scrape& s, const std::string& key) {
  auto it = s.samples.find(key);
  return it == s.samples.end() ? 0 : it->second;
}

TEST_F(Metrics, ParsesAndCountsRefreshesByPlatformAndOutcome) {
  FakeOAuth2& fake = start_fake({.expires_in = 3600, .rotate_refresh = false, .issuer_path = ""});
  register_fake_app(fake, "metered", "client_secret_post", false, true);

  const std::string success = R"(mediax_refreshes_total{platform="oauth2",outcome="success"})";
  Scrape s;
  ASSERT_TRUE(eventually(
      [&] {
        s = scrape(daemon());
        return value(s, success) >= 1;
      },
      10s))
      << "the first client-credentials fetch was not counted";
  // The first fetch is counted when the platform answers and stored a moment later (group
  // commit): a forced refresh before that would join it instead of calling the platform again.
  ASSERT_TRUE(eventually([&] { return daemon().get("/v1/apps/metered/token").status == 200; }, 10s));
  s = scrape(daemon());
  const double before = value(s, success);
  EXPECT_EQ(s.types["mediax_refreshes_total"], "counter");
  EXPECT_EQ(s.types["mediax_refresh_duration_seconds"], "histogram");
  EXPECT_EQ(value(s, R"(mediax_refresh_duration_seconds_count{platform="oauth2"})"), before);

  auto r = daemon().post("/v1/apps/metered/refresh");
  ASSERT_EQ(r.status, 200) << r.describe();
  remember_secret(r.json().value("access_token", ""));

  s = scrape(daemon());
  EXPECT_EQ(value(s, success), before + 1) << "one forced refresh, one count";
  EXPECT_EQ(value(s, R"(mediax_refresh_duration_seconds_count{platform="oauth2"})"), before + 1);
  EXPECT_EQ(value(s, R"(mediax_refresh_duration_seconds_bucket{platform="oauth2",le="+Inf"})"), before + 1);
  EXPECT_GE(value(s, R"(mediax_lease_attempts_total{result="acquired"})"), before + 1);

  // The app token lives in memory and expires in about an hour.
  const double until = value(s, "mediax_earliest_token_expiry_seconds");
  EXPECT_GT(until, 3000);
  EXPECT_LE(until, 3600);
  EXPECT_EQ(value(s, "mediax_tokens_in_memory"), 1);
  EXPECT_EQ(value(s, "mediax_database_up"), 1);
  EXPECT_GT(value(s, "mediax_database_ping_seconds"), 0);
  EXPECT_EQ(value(s, "mediax_scheduler_scheduled"), 1) << "the app token waits for its next refresh";
}

TEST_F(Metrics, FailedRefreshIsCountedUnderItsClassAndDatabaseCountsGrants) {
  FakeOAuth2& fake = start_fake({.expires_in = 3600, .rotate_refresh = false, .issuer_path = ""});
  register_fake_app(fake, "failing", "client_secret_post");
  connect("failing", "bob");
  fake.fail({{"mode", "invalid_grant"}, {"count", 1}, {"grant_type", "refresh_token"}});
  auto list = grants("failing");
  ASSERT_FALSE(list.empty());
  auto r = daemon().post("/v1/grants/" + std::to_string(as_id(list[0]["id"])) + "/refresh");
  EXPECT_EQ(r.status, 502) << r.describe();

  Scrape s = scrape(daemon());
  EXPECT_EQ(value(s, R"(mediax_refreshes_total{platform="oauth2",outcome="needs_reauth"})"), 1);
  // Database counts are cached for up to 10 s: wait for the grant's new status to show.
  ASSERT_TRUE(eventually(
      [&] {
        s = scrape(daemon());
        return value(s, R"(mediax_grants{platform="oauth2",status="needs_reauth"})") == 1;
      },
      15s, 500ms))
      << "grant counts by status did not show the needs_reauth grant";
  EXPECT_EQ(value(s, R"(mediax_grants{platform="oauth2",status="active"})"), 0);
  EXPECT_EQ(value(s, R"(mediax_leases_held{kind="grant"})"), 0);
}

// Scheduled grant refreshes go through the batched statements (store/batcher.hpp): their counts
// show, and the mean batch size (requests / batches) is at least one.
TEST_F(Metrics, ScheduledRefreshesCountTheirBatchedStatements) {
  FakeOAuth2& fake = start_fake({.expires_in = 4, .rotate_refresh = false, .issuer_path = ""});
  register_fake_app(fake, "batched", "client_secret_post");
  connect("batched", "carol");
  Scrape s;
  ASSERT_TRUE(eventually(
      [&] {
        s = scrape(daemon());
        return value(s, R"(mediax_store_batches_total{statement="complete"})") >= 1;
      },
      20s, 250ms))
      << "no batched result statement counted after the grant's 4 s token came due";
  for (const char* st : {"lease", "complete"}) {
    SCOPED_TRACE(st);
    const double batches = value(s, std::string("mediax_store_batches_total{statement=\"") + st + "\"}");
    const double requests = value(s, std::string("mediax_store_batched_requests_total{statement=\"") + st + "\"}");
    EXPECT_GE(batches, 1);
    EXPECT_GE(requests, batches);
  }
}

}  // namespace
}  // namespace mediax::e2e
