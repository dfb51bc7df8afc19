// Soak and kill -9 loop: thousands of short-lived grants refreshed by two and by three mediaxd
// instances sharing one database, against the fake OAuth 2.0 provider rotating refresh tokens
// (so a double refresh shows as a dead refresh token presented), for a while; and three instances
// of which a random one is killed with SIGKILL at random moments and restarted, again and again.
//
// What must hold (README "Several instances on one database"):
//  - one refresh per grant per cycle: the fake counts a refresh that presents a rotated-away
//    refresh token (dead_refresh_token_uses) and a refresh of a grant less than a quarter of the
//    token lifetime after its previous one (quick_refreshes); both stay 0, except dead uses by
//    grants lost to a kill (below): at least one per lost grant, at most one per refresh in
//    flight at a kill;
//  - a reader logged in with the mediax_reader role, polling mediax.access_tokens with plain SQL
//    the whole time, finds a token for every active grant every time (the view hides expired
//    tokens, so an expired token shows as a missing row), never a row whose expiry had passed
//    before it asked, and the tokens it samples are valid at the fake;
//  - no grant is lost: every grant is `active`, or — only in the kill loop, and only for a
//    refresh the killed instance had in flight — `needs_reauth` with the reason `lost_rotation`:
//    the platform rotated the refresh token and its answer died with the instance;
//  - the survivors take a killed instance's refreshes over within a lease (plus the timer's second);
//  - the instances share the work by partitions (README "Several instances on one database"):
//    every partition has one owner, each instance a fair share, one lease attempt per refresh
//    (at most 1.05 on average), and each holds about its share of the tokens in memory; in the
//    kill loop, which also stops instances with SIGTERM and starts them again, a killed or
//    stopped instance's partitions are all owned again, and the first of their grants refreshed
//    by a survivor, within 2 s.
//
// Sizes and durations come from the environment, with CI defaults that keep the three tests
// together around three minutes on two cores (README "Tests"):
//   MEDIAX_SOAK_SECONDS  (default 30)    how long each test runs after the grants exist
//   MEDIAX_SOAK_GRANTS   (default 1000)  grants created through the real connect flow
//   MEDIAX_SOAK_LIFETIME (default 30)    access token lifetime at the fake, seconds (refreshed at half)
#include <pqxx/pqxx>
#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <iostream>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "harness.hpp"

namespace mediax::e2e {
namespace {

int env_int(const char* name, int fallback, int lo, int hi) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return fallback;
  char* end = nullptr;
  const long n = std::strtol(v, &end, 10);
  if (end == v || *end != '\0' || n < lo || n > hi) {
    throw std::runtime_error(std::string(name) + " must be an integer in " + std::to_string(lo) + ".." +
                             std::to_string(hi));
  }
  return static_cast<int>(n);
}

struct SoakSettings {
  int seconds = env_int("MEDIAX_SOAK_SECONDS", 30, 5, 86400);
  int grants = env_int("MEDIAX_SOAK_GRANTS", 1000, 10, 100000);
  int lifetime = env_int("MEDIAX_SOAK_LIFETIME", 30, 12, 3600);
};

// Short leases so that a killed instance is taken over well before the tokens it was refreshing
// expire (a token is refreshed with half its lifetime left; takeover needs a lease and a second).
// A platform call must end well within the lease (request_timeout_ms), or a slow answer could
// overlap a takeover.
// Eight workers an instance: three instances then keep at most 24 connections open (in flight or
// kept alive between calls; each holds one of the fake's 64 HTTP threads, a replaced instance's
// until the kernel closes them), and 8 workers share the 4 database connections of an instance. One
// platform only, so its in-flight cap is all workers: the default (all but one, kept for other
// platforms) defers the due keys that find every other worker busy by a second, again and
// again while the instance is saturated, and a deferred key loses its place to keys due later.
// The circuit breaker's cool-down is kept below the tokens' refresh margin (a machine too
// loaded to answer within request_timeout_ms opens it; the default 30 s would outlast them).
constexpr int kLeaseSeconds = 5;
const std::string kRefresh = "lease_seconds = " + std::to_string(kLeaseSeconds) +
                             "\nsweep_seconds = 5\nmax_concurrent = 8\nmax_in_flight_per_endpoint = 8"
                             "\nrequest_timeout_ms = 4000\nconnect_timeout_ms = 1000\nbreaker_cooldown_seconds = 5";

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The sum of every series of a metric family on an instance's /metrics (-1: not served).
double metric_sum(const Daemon& d, const std::string& family) {
  const auto r = test::http_get(d.url("/metrics"));
  if (r.status != 200) return -1;
  double sum = 0;
  std::istringstream lines(r.body);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(family, 0) != 0) continue;
    const char next = line.size() > family.size() ? line[family.size()] : '\0';
    if (next != ' ' && next != '{') continue;
    sum += std::stod(line.substr(line.rfind(' ') + 1));
  }
  return sum;
}

// The advisory locks of the partitions (store/partition_locks.hpp: class 0x6d79): holder session
// by partition.
std::map<int, int> partition_holders(pqxx::connection& conn) {
  pqxx::nontransaction tx(conn);
  std::map<int, int> out;
  for (const auto& r : tx.exec("SELECT objid::int, pid FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 2"
                               " AND granted AND classid::int8 = 28025")) {
    out[r[0].as<int>()] = r[1].as<int>();
  }
  return out;
}

// The database sessions of an instance, by the application_name it gives them ("mediaxd/<instance>",
// the instance named in its log's "listening on ... (instance host:pid:instance)").
std::set<int> sessions_of(pqxx::connection& conn, const Daemon& d) {
  const std::string log = d.log();
  const auto at = log.find("(instance ");
  std::set<int> out;
  if (at == std::string::npos) return out;
  const auto end = log.find(')', at);
  const std::string owner = log.substr(at + 10, end - at - 10);
  const std::string instance = owner.substr(owner.rfind(':') + 1);
  pqxx::nontransaction tx(conn);
  for (const auto& r :
       tx.exec_params("SELECT pid FROM pg_stat_activity WHERE application_name = $1", "mediaxd/" + instance)) {
    out.insert(r[0].as<int>());
  }
  return out;
}

std::string sql_array(const std::vector<std::int64_t>& ids) {
  std::string s = "{";
  for (std::size_t i = 0; i < ids.size(); ++i) s += (i ? "," : "") + std::to_string(ids[i]);
  return s + "}";
}

// What the reader thread saw.
struct ReaderCounts {
  std::atomic<std::int64_t> polls{0};
  std::atomic<std::int64_t> rows{0};                // rows of the view read, summed over polls
  std::atomic<std::int64_t> missing{0};             // active grants without a servable token, summed over polls
  std::atomic<std::int64_t> expired{0};             // rows whose expires_at had passed before the query was sent
  std::atomic<std::int64_t> sampled{0};             // tokens checked at the fake
  std::atomic<std::int64_t> invalid{0};             // ... that the fake did not accept, of active grants
  std::atomic<std::int64_t> invalid_not_active{0};  // ... of grants no longer active (lost, not refreshed)
  std::atomic<std::int64_t> errors{0};              // database errors of the reader itself
  std::mutex mu;
  std::string example;
};

class Soak : public E2ETest {
 protected:
  // Instance i: 0 is the fixture's daemon (restarted with the soak settings), others are extra.
  std::unique_ptr<Daemon>& instance(std::size_t i) { return i == 0 ? daemon_ : others_[i - 1]; }
  std::size_t instances() const { return others_.size() + 1; }

  std::unique_ptr<Daemon> start_instance(const std::string& name) {
    const std::string dir = dir_ + "/" + name;
    ::mkdir(dir.c_str(), 0700);
    return std::make_unique<Daemon>(db_url_, dir, "", "", kRefresh);
  }

  void TearDown() override {
    for (auto& d : others_) {
      if (d) old_logs_.push_back(d->log());
    }
    others_.clear();
    if (!reader_role_.empty()) {
      try {
        pqxx::connection conn(db_url_);
        pqxx::nontransaction tx(conn);
        tx.exec("DROP ROLE IF EXISTS " + tx.quote_name(reader_role_));
      } catch (const std::exception&) {
      }
    }
    E2ETest::TearDown();
  }

  // n instances with the soak's refresh settings, the fake, the app and the grants.
  void start(std::size_t n) {
    db_url_ = daemon().db_url();
    daemon_->stop();
    daemon_ = start_instance("i0-0");
    for (std::size_t i = 1; i < n; ++i) others_.push_back(start_instance("i" + std::to_string(i) + "-0"));
    FakeOAuth2::Flags flags;
    flags.expires_in = settings_.lifetime;
    flags.rotate_refresh = true;
    fake_ = &start_fake(flags);
    app_id_ = as_id(register_fake_app(*fake_, "soak").at("id"));
    create_grants();
    pqxx::connection conn(db_url_);
    pqxx::work tx(conn);
    for (const auto& r : tx.exec_params("SELECT id FROM mediax.grants WHERE app_id = $1 ORDER BY id", app_id_)) {
      grant_ids_.push_back(r[0].as<std::int64_t>());
    }
    // Another app's login role, as README "The mediax_reader role" tells to make one.
    reader_role_ = random_hex("soak_reader_", 12);
    tx.exec("CREATE ROLE " + tx.quote_name(reader_role_) + " LOGIN");
    tx.exec("GRANT mediax_reader TO " + tx.quote_name(reader_role_));
    tx.commit();
    ASSERT_EQ(grant_ids_.size(), static_cast<std::size_t>(settings_.grants));
  }

  // The real connect flow (authorize at a daemon, the fake approves at once, the callback
  // exchanges the code), a few at a time, spread over the instances.
  void create_grants() {
    const auto t = std::chrono::steady_clock::now();
    std::atomic<int> next{0};
    std::atomic<int> failed{0};
    std::mutex mu;
    std::string failure;
    std::vector<std::thread> threads;
    for (int w = 0; w < 4; ++w) {
      threads.emplace_back([&, w] {
        const Daemon& d = *instance(static_cast<std::size_t>(w) % instances());
        for (int i = next++; i < settings_.grants; i = next++) {
          try {
            auto r = d.post("/v1/apps/soak/authorize");
            require(r.status == 200, "authorize: " + r.describe());
            Browser browser;
            const std::string url = browser.open_link(r.json().at("connect_url").get<std::string>());
            auto cb = visit(browser.authorize(test::add_query_param(url, "login_hint", "user-" + std::to_string(i)),
                                              daemon().callback_url("soak")));
            require(cb.status == 200, "callback: " + cb.describe());
          } catch (const std::exception& e) {
            ++failed;
            std::lock_guard lk(mu);
            failure = e.what();
          }
        }
      });
    }
    for (auto& th : threads) th.join();
    ASSERT_EQ(failed.load(), 0) << failure;
    std::cout << "[ soak     ] " << settings_.grants << " grants connected in "
              << std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count() << " s\n";
  }

  // Polls mediax.access_tokens the way another app would (its own login role, plain SQL), until
  // stop. A grant missing from the view is checked at once with the owner's connection: it counts
  // when the grant is still active (an active grant's token expired or was never published).
  void read_tokens(ReaderCounts& c, const std::atomic<bool>& stop) {
    std::mt19937 rng(std::random_device{}());
    std::unique_ptr<pqxx::connection> conn;
    std::unique_ptr<pqxx::connection> owner;
    while (!stop) {
      try {
        if (!conn) conn = std::make_unique<pqxx::connection>(db_url_ + " user=" + reader_role_);
        if (!owner) owner = std::make_unique<pqxx::connection>(db_url_);
        const auto asked_ms = now_ms();
        std::vector<std::pair<std::int64_t, std::string>> tokens;
        {
          pqxx::nontransaction tx(*conn);
          for (const auto& r : tx.exec("SELECT grant_id, access_token, (extract(epoch FROM expires_at) * 1000)::int8"
                                       " FROM mediax.access_tokens WHERE app_name = 'soak' AND grant_id IS NOT NULL")) {
            if (r[2].as<std::int64_t>() <= asked_ms) {
              ++c.expired;
              std::lock_guard lk(c.mu);
              c.example = "grant " + r[0].as<std::string>() + ": the view served a token that had expired";
            }
            tokens.emplace_back(r[0].as<std::int64_t>(), r[1].as<std::string>());
          }
        }
        ++c.polls;
        c.rows += static_cast<std::int64_t>(tokens.size());
        std::set<std::int64_t> present;
        for (const auto& t : tokens) present.insert(t.first);
        std::vector<std::int64_t> absent;
        for (auto id : grant_ids_) {
          if (present.count(id) == 0) absent.push_back(id);
        }
        if (!absent.empty()) {
          pqxx::nontransaction tx(*owner);
          const auto res = tx.exec_params(
              "SELECT g.id, g.lease_owner, g.refresh_in_flight, g.next_refresh_at::text, t.expires_at::text, "
              "now()::text"
              " FROM mediax.grants g LEFT JOIN mediax.tokens t ON t.grant_id = g.id"
              " WHERE g.id = ANY($1::int8[]) AND g.status = 'active'",
              sql_array(absent));
          c.missing += static_cast<std::int64_t>(res.size());
          if (!res.empty()) {
            const auto& r = res[0];
            std::lock_guard lk(c.mu);
            c.example = std::to_string(res.size()) + " active grants without a token in the view, e.g. grant " +
                        r[0].as<std::string>() + " (lease " + r[1].as<std::string>("none") + ", in flight " +
                        r[2].as<std::string>() + ", next refresh " + r[3].as<std::string>("none") + ", token expired " +
                        r[4].as<std::string>("none") + ", now " + r[5].as<std::string>() + ")";
          }
        }
        for (int k = 0; k < 4 && !tokens.empty(); ++k) {
          const auto& [grant, token] = tokens[std::uniform_int_distribution<std::size_t>(0, tokens.size() - 1)(rng)];
          ++c.sampled;
          if (fake_->token_active(token)) continue;
          pqxx::nontransaction tx(*owner);
          if (tx.exec_params1("SELECT status = 'active' FROM mediax.grants WHERE id = $1", grant)[0].as<bool>()) {
            ++c.invalid;
            std::lock_guard lk(c.mu);
            c.example = "the token of active grant " + std::to_string(grant) + " is not valid at the platform";
          } else {
            ++c.invalid_not_active;  // a lost grant's last token, at the very end of its life
          }
        }
      } catch (const std::exception& e) {
        ++c.errors;
        conn.reset();
        owner.reset();
        std::lock_guard lk(c.mu);
        c.example = std::string("reader: ") + e.what();
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(250 + std::uniform_int_distribution<int>(0, 100)(rng)));
    }
  }

  struct GrantStates {
    std::int64_t active = 0;
    std::vector<std::int64_t> lost_rotation;
    std::vector<std::string> other;  // anything else: a grant lost without a reason
  };
  GrantStates grant_states() {
    pqxx::connection conn(db_url_);
    pqxx::nontransaction tx(conn);
    GrantStates s;
    for (const auto& r :
         tx.exec_params("SELECT id, account_id, status, status_reason FROM mediax.grants WHERE app_id = $1", app_id_)) {
      const auto status = r[2].as<std::string>();
      const auto reason = r[3].is_null() ? std::string() : r[3].as<std::string>();
      if (status == "active") {
        ++s.active;
      } else if (status == "needs_reauth" && reason.rfind("lost_rotation", 0) == 0) {
        s.lost_rotation.push_back(r[0].as<std::int64_t>());
      } else {
        s.other.push_back(r[1].as<std::string>() + ": " + status + " (" + reason + ")");
      }
    }
    return s;
  }

  // The checks all tests share, after the load ran for `seconds`.
  // cut_off: refreshes in flight at kills (a grant counts again for each kill it was in flight at).
  void check_refreshes(const json& stats_before, const json& stats, double seconds, const GrantStates& states,
                       std::int64_t cut_off = 0) {
    const auto lost = static_cast<std::int64_t>(states.lost_rotation.size());
    const auto refreshes = stats.at("refreshes").get<std::int64_t>() - stats_before.at("refreshes").get<std::int64_t>();
    const auto dead = stats.at("dead_refresh_token_uses").get<std::int64_t>();
    const auto quick = stats.at("quick_refreshes").get<std::int64_t>();
    const auto min_gap_ms = stats.at("min_refresh_gap_ms").get<std::int64_t>();
    // A double refresh presents a rotated-away refresh token or comes far too early. Only a grant
    // lost to a kill presents a dead token: when another instance takes it over, which then marks
    // it lost_rotation — or is killed itself before it could, and the next one presents it again.
    // So every dead token presented was a refresh in flight at a kill, and each lost grant
    // presented one. Without kills: none.
    EXPECT_GE(dead, lost) << "a grant is lost_rotation without having presented a dead refresh token";
    EXPECT_LE(dead, cut_off) << "a refresh presented a refresh token rotated away before (double refresh)";
    EXPECT_EQ(quick, 0) << "a grant was refreshed again within a quarter of the token lifetime (min gap " << min_gap_ms
                        << " ms)";
    // Once per cycle (half the lifetime) for every grant still active: none starves, none doubles.
    const double cycle = settings_.lifetime / 2.0;
    const auto by_account = stats.at("refreshes_by_account");
    const auto before = stats_before.at("refreshes_by_account");
    std::int64_t least = -1, most = 0;
    std::string least_account;
    std::set<std::string> lost_accounts;
    {
      pqxx::connection conn(db_url_);
      pqxx::nontransaction tx(conn);
      for (const auto id : states.lost_rotation) {
        lost_accounts.insert(
            tx.exec_params1("SELECT account_id FROM mediax.grants WHERE id = $1", id)[0].as<std::string>());
      }
    }
    for (int i = 0; i < settings_.grants; ++i) {
      const std::string account = "user-" + std::to_string(i);
      const auto n = by_account.value(account, std::int64_t{0}) - before.value(account, std::int64_t{0});
      most = std::max(most, n);
      if (lost_accounts.count(account) == 0 && (least < 0 || n < least)) {
        least = n;
        least_account = account;
      }
    }
    const auto cycles = static_cast<std::int64_t>(seconds / cycle);
    std::cout << "[ soak     ] " << instances() << " instances, " << settings_.grants << " grants, "
              << settings_.lifetime << " s tokens, " << seconds << " s: " << refreshes << " refreshes ("
              << refreshes / seconds << "/s; per active grant " << least << ".." << most << ", expected ~"
              << seconds / cycle << "), min gap between two refreshes of a grant " << min_gap_ms
              << " ms, quick refreshes " << quick << ", dead refresh tokens presented " << dead << ", lost_rotation "
              << lost << "\n";
    EXPECT_GE(least, cycles - 1) << least_account << " was not refreshed every cycle";
    EXPECT_LE(most, cycles + 1) << "a grant was refreshed more than once a cycle";
    EXPECT_GE(refreshes, (cycles - 1) * (settings_.grants - lost));
  }

  void check_reader(ReaderCounts& c, double seconds) {
    std::cout << "[ soak     ] reader (role mediax_reader): " << c.polls << " polls of mediax.access_tokens (" << c.rows
              << " rows), " << c.sampled << " tokens checked at the platform; missing " << c.missing << ", expired "
              << c.expired << ", invalid " << c.invalid << " (+" << c.invalid_not_active
              << " of lost grants), reader errors " << c.errors << "\n";
    EXPECT_GT(c.polls.load(), static_cast<std::int64_t>(seconds));  // about 3 a second
    EXPECT_EQ(c.missing.load(), 0) << "an active grant had no valid token in mediax.access_tokens: " << c.example;
    EXPECT_EQ(c.expired.load(), 0) << c.example;
    EXPECT_EQ(c.invalid.load(), 0) << c.example;
    EXPECT_EQ(c.errors.load(), 0) << c.example;
  }

  void check_logs() {
    const auto secrets = known_secrets();
    for (std::size_t i = 0; i < instances(); ++i) old_logs_.push_back(instance(i)->log());
    for (const auto& log : old_logs_) {
      for (const auto& s : secrets_in(log, secrets)) {
        ADD_FAILURE() << "a daemon's log contains a code, token or secret (" << s.substr(0, 4) << "...)";
      }
    }
  }

  // n instances refresh for settings_.seconds while nothing fails.
  void soak(std::size_t n) {
    start(n);
    if (HasFatalFailure()) return;
    const auto stats_before = fake_->stats();
    ReaderCounts counts;
    std::atomic<bool> stop{false};
    std::thread reader([&] { read_tokens(counts, stop); });
    double leases_before = 0;
    for (std::size_t i = 0; i < instances(); ++i)
      leases_before += metric_sum(*instance(i), "mediax_lease_attempts_total");
    const auto t_start = std::chrono::steady_clock::now();
    std::this_thread::sleep_for(std::chrono::seconds(settings_.seconds));
    double leases = -leases_before;
    for (std::size_t i = 0; i < instances(); ++i) leases += metric_sum(*instance(i), "mediax_lease_attempts_total");
    const auto stats = fake_->stats();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
    stop = true;
    reader.join();

    const auto states = grant_states();
    EXPECT_TRUE(states.lost_rotation.empty()) << "nothing was killed: no grant may be lost";
    EXPECT_TRUE(states.other.empty()) << states.other.front();
    EXPECT_EQ(states.active, settings_.grants);
    check_refreshes(stats_before, stats, seconds, states);
    check_reader(counts, seconds);
    // Every instance took part, with its share of the partitions and of the tokens in memory.
    const auto share = (256 + static_cast<int>(n) - 1) / static_cast<int>(n);
    double owned = 0;
    std::ostringstream shares;
    for (std::size_t i = 0; i < instances(); ++i) {
      EXPECT_NE(instance(i)->log().find("refreshed"), std::string::npos) << "instance " << i << " never refreshed";
      const double mine = metric_sum(*instance(i), "mediax_partitions_owned");
      const double cached = metric_sum(*instance(i), "mediax_tokens_in_memory");
      owned += mine;
      shares << " " << mine << "/" << cached;
      EXPECT_GE(mine, share - static_cast<int>(n)) << "instance " << i;
      EXPECT_LE(mine, share) << "instance " << i;
      EXPECT_LE(cached, settings_.grants * (mine / 256.0) * 1.3 + 20)
          << "instance " << i << " caches more than its share";
    }
    EXPECT_EQ(owned, 256) << "every partition has one owner";
    const auto refreshes = stats.at("refreshes").get<std::int64_t>() - stats_before.at("refreshes").get<std::int64_t>();
    const double per_refresh = leases / static_cast<double>(std::max<std::int64_t>(1, refreshes));
    std::cout << "[ soak     ] partitions/tokens in memory per instance:" << shares.str() << "; lease attempts "
              << leases << " for " << refreshes << " refreshes: " << per_refresh << " per refresh\n";
    EXPECT_LE(per_refresh, 1.05) << "instances attempt leases on each other's grants";
    check_logs();
  }

  SoakSettings settings_;
  std::string db_url_;
  std::vector<std::unique_ptr<Daemon>> others_;
  std::vector<std::string> old_logs_;  // of stopped and killed instances
  std::vector<std::int64_t> grant_ids_;
  std::string reader_role_;
  FakeOAuth2* fake_ = nullptr;
  std::int64_t app_id_ = 0;
};

TEST_F(Soak, TwoDaemonsRefreshThousandsOfGrantsOncePerCycleAndNeverServeAnExpiredToken) { soak(2); }

TEST_F(Soak, ThreeDaemonsRefreshThousandsOfGrantsOncePerCycleAndNeverServeAnExpiredToken) { soak(3); }

// One SIGKILL: the dead instance's pid, when, and the grants it had leased (refreshes in flight).
struct Kill {
  pid_t pid = -1;
  bool graceful = false;  // SIGTERM rather than SIGKILL
  std::chrono::steady_clock::time_point at;
  std::set<std::int64_t> in_flight;
  std::optional<double> takeover_seconds;    // until none of its leases was left
  std::vector<int> partitions;               // what it owned
  std::set<int> sessions;                    // its database sessions
  double db_at = 0;                          // the database's clock at the kill (epoch seconds)
  std::optional<double> partitions_seconds;  // until every partition was owned by a survivor
  // The earliest time a grant of its partitions was due (not leased by it), or the kill if earlier:
  // the due times of 1,000 grants leave gaps of seconds with nothing due, which are not takeover time.
  double due_at = 0;
  std::optional<double> first_refresh_seconds;  // from due_at until a survivor refreshed a grant of its partitions
};

TEST_F(Soak, KillNineLoopSurvivorsTakeOverAndNoGrantIsLostSilently) {
  // Kills, stops and starts move the partitions between the instances again and again.
  start(3);
  if (HasFatalFailure()) return;
  const auto stats_before = fake_->stats();
  ReaderCounts counts;
  std::atomic<bool> stop{false};
  std::thread reader([&] { read_tokens(counts, stop); });

  // Watches the killed instances' leases until the survivors have taken every one over.
  std::mutex mu;
  std::condition_variable cv;
  std::vector<Kill> kills;
  std::atomic<bool> killing_done{false};
  std::thread watcher([&] {
    std::unique_ptr<pqxx::connection> conn;
    for (;;) {
      std::vector<std::pair<std::size_t, pid_t>> open;
      {
        std::unique_lock lk(mu);
        for (std::size_t k = 0; k < kills.size(); ++k) {
          if (!kills[k].takeover_seconds) open.emplace_back(k, kills[k].pid);
        }
        if (open.empty()) {
          if (killing_done) return;
          cv.wait_for(lk, std::chrono::milliseconds(200));
          continue;
        }
      }
      for (const auto& [k, pid] : open) {
        std::int64_t left = -1;
        std::optional<double> partitions_at, first_refresh_at;
        try {
          if (!conn) conn = std::make_unique<pqxx::connection>(db_url_);
          std::vector<int> parts;
          std::set<int> dead;
          double db_at = 0, due_at = 0;
          {
            std::lock_guard lk(mu);
            parts = kills[k].partitions;
            dead = kills[k].sessions;
            db_at = kills[k].db_at;
            due_at = kills[k].due_at;
          }
          int owned = 0;
          for (const auto& [p, holder] : partition_holders(*conn)) owned += dead.count(holder) == 0 ? 1 : 0;
          pqxx::nontransaction tx(*conn);
          left = tx.exec_params1("SELECT count(*) FROM mediax.grants WHERE lease_owner LIKE $1",
                                 "%:" + std::to_string(pid) + ":%")[0]
                     .as<std::int64_t>();
          if (owned == 256) partitions_at = 0;
          std::vector<std::int64_t> p64(parts.begin(), parts.end());
          const auto first = tx.exec_params1(
              "SELECT extract(epoch FROM min(refreshed_at))::float8 FROM mediax.tokens"
              " WHERE grant_id % 256 = ANY($1::int8[]) AND refreshed_at > to_timestamp($2)",
              sql_array(p64), db_at)[0];
          if (!first.is_null()) first_refresh_at = std::max(0.0, first.as<double>() - due_at);
        } catch (const std::exception&) {
          conn.reset();
        }
        std::lock_guard lk(mu);
        auto& kill = kills[k];
        const double since = std::chrono::duration<double>(std::chrono::steady_clock::now() - kill.at).count();
        if (partitions_at && !kill.partitions_seconds) kill.partitions_seconds = since;
        if (first_refresh_at && !kill.first_refresh_seconds) kill.first_refresh_seconds = *first_refresh_at;
        const bool all = kill.partitions_seconds && (kill.first_refresh_seconds || kill.partitions.empty());
        if ((left == 0 && all) || since > 60) kill.takeover_seconds = since;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  });

  // Kill a random instance at a random moment, leave it dead a little, restart it, again.
  std::mt19937 rng(std::random_device{}());
  const auto t_start = std::chrono::steady_clock::now();
  const auto until = t_start + std::chrono::seconds(settings_.seconds);
  int restarts = 0;
  auto kill_loop = [&] {
    pqxx::connection conn(db_url_);
    while (std::chrono::steady_clock::now() + std::chrono::seconds(2) < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(1000, 4000)(rng)));
      const std::size_t victim = std::uniform_int_distribution<std::size_t>(0, instances() - 1)(rng);
      auto& d = instance(victim);
      // Preferably while it has refreshes in flight (leases it holds), for up to a second.
      const auto leases = "%:" + std::to_string(d->pid()) + ":%";
      for (int i = 0; i < 50; ++i) {
        pqxx::nontransaction tx(conn);
        if (tx.exec_params1("SELECT count(*) FROM mediax.grants WHERE lease_owner LIKE $1", leases)[0].as<int>() > 0) {
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
      Kill kill;
      kill.pid = d->pid();
      // One stop in four is a clean SIGTERM: the instance hands its partitions back as it goes.
      kill.graceful = std::uniform_int_distribution<int>(0, 3)(rng) == 0;
      kill.sessions = sessions_of(conn, *d);
      for (const auto& [p, holder] : partition_holders(conn)) {
        if (kill.sessions.count(holder) > 0) kill.partitions.push_back(p);
      }
      {
        pqxx::nontransaction tx(conn);
        kill.db_at = tx.exec1("SELECT extract(epoch FROM clock_timestamp())::float8")[0].as<double>();
        std::vector<std::int64_t> p64(kill.partitions.begin(), kill.partitions.end());
        const auto due = tx.exec_params1(
            "SELECT extract(epoch FROM min(next_refresh_at))::float8 FROM mediax.grants"
            " WHERE status = 'active' AND id % 256 = ANY($1::int8[]) AND (lease_until IS NULL OR lease_until <= now())",
            sql_array(p64))[0];
        kill.due_at = std::max(kill.db_at, due.is_null() ? kill.db_at : due.as<double>());
      }
      kill.at = std::chrono::steady_clock::now();
      if (kill.graceful) {
        d->stop();  // SIGTERM, waits for it to end
      } else {
        require(::kill(kill.pid, SIGKILL) == 0, "kill -9 failed");
        d->stop();  // reaps it
      }
      old_logs_.push_back(d->log());
      // What it had in flight: leases it took and never released. A COMMIT it sent just before it
      // died may still be finishing in its backend: wait a moment so such a row is not counted.
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      {
        pqxx::nontransaction tx(conn);
        for (const auto& r : tx.exec_params("SELECT id FROM mediax.grants WHERE lease_owner LIKE $1",
                                            "%:" + std::to_string(kill.pid) + ":%")) {
          kill.in_flight.insert(r[0].as<std::int64_t>());
        }
      }
      {
        std::lock_guard lk(mu);
        kills.push_back(kill);
      }
      cv.notify_all();
      std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(0, 1500)(rng)));
      d.reset();
      d = start_instance("i" + std::to_string(victim) + "-" + std::to_string(++restarts));
    }
  };
  try {
    kill_loop();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "the kill loop stopped: " << e.what();
  }
  const double kill_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  // Let the last takeovers happen and every grant be refreshed once more since.
  killing_done = true;
  cv.notify_all();
  watcher.join();
  std::this_thread::sleep_for(std::chrono::milliseconds(static_cast<int>(settings_.lifetime * 500 + 1000)));
  const auto stats = fake_->stats();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  stop = true;
  reader.join();

  ASSERT_GE(kills.size(), 2u) << "MEDIAX_SOAK_SECONDS is too short for a kill loop";
  std::size_t in_flight = 0;
  double slowest = 0, slowest_partitions = 0, slowest_first = 0;
  int graceful = 0;
  std::set<std::int64_t> cut_off;
  std::ostringstream per_kill;
  for (const auto& k : kills) {
    in_flight += k.in_flight.size();
    cut_off.insert(k.in_flight.begin(), k.in_flight.end());
    slowest = std::max(slowest, k.takeover_seconds.value_or(0));
    slowest_partitions = std::max(slowest_partitions, k.partitions_seconds.value_or(99));
    if (!k.partitions.empty()) slowest_first = std::max(slowest_first, k.first_refresh_seconds.value_or(99));
    graceful += k.graceful ? 1 : 0;
    per_kill << " " << (k.graceful ? "TERM " : "KILL ") << k.partitions.size() << "p/" << k.in_flight.size() << "/"
             << k.partitions_seconds.value_or(-1) << "s/" << k.first_refresh_seconds.value_or(-1) << "s/"
             << k.takeover_seconds.value_or(-1) << "s";
  }
  const auto states = grant_states();
  std::cout << "[ soak     ] kill loop: " << kills.size() - graceful << " kill -9 and " << graceful << " SIGTERM in "
            << kill_seconds << " s, " << in_flight
            << " refreshes in flight at the kills; partitions all owned again after"
            << " at most " << slowest_partitions
            << " s, a survivor's first refresh in them (from the first due) after at most " << slowest_first
            << " s, leases taken over after at most " << slowest
            << " s (partitions/in flight/owned/first refresh/leases per stop:" << per_kill.str() << "), lost_rotation "
            << states.lost_rotation.size() << "\n";

  // Partitions are taken over as soon as the instance's session ends; their grants refresh at once.
  EXPECT_LE(slowest_partitions, 2.0) << "a stopped instance's partitions were owned again late";
  EXPECT_LE(slowest_first, 2.0)
      << "a survivor refreshed nothing of a stopped instance's partitions for 2 s after one was due";
  // The survivors took every lease of a dead instance over within a lease and the timer's second
  // (plus a little for a loaded machine), long before the tokens being refreshed expired.
  EXPECT_LE(slowest, kLeaseSeconds + 3.0) << "a killed instance's refreshes were taken over late";
  // No grant is lost silently: active, or needs_reauth because a refresh the killed instance had
  // in flight got the rotated refresh token from the platform and died with it.
  EXPECT_TRUE(states.other.empty()) << states.other.front();
  EXPECT_EQ(states.active + static_cast<std::int64_t>(states.lost_rotation.size()), settings_.grants);
  EXPECT_LE(states.lost_rotation.size(), in_flight);
  for (const auto id : states.lost_rotation) {
    EXPECT_EQ(cut_off.count(id), 1u) << "grant " << id << " is lost_rotation but no killed instance had it in flight";
  }
  check_refreshes(stats_before, stats, seconds, states, static_cast<std::int64_t>(in_flight));
  check_reader(counts, seconds);
  check_logs();
}

}  // namespace
}  // namespace mediax::e2e
