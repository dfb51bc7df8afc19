// Readers at scale, on PostgreSQL's own machinery (README "Readers at scale"):
//  - many reader connections through a real PgBouncer in transaction pooling mode share a few server
//    connections, and every read is the current token, never an expired one, while tokens rotate;
//  - a real streaming replica (a hot standby made with pg_basebackup) serves mediax.access_tokens:
//    each new token shows up on it, and it never lists an expired one;
//  - mediaxd itself runs through PgBouncer in session mode: migrate, the connect flow, refreshes,
//    and LISTEN/NOTIFY between two instances.
#include <pqxx/pqxx>

#include <atomic>
#include <filesystem>
#include <iostream>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "harness.hpp"
#include "support/pgbouncer.hpp"

namespace mediax::e2e {
namespace {

// A login role of another app, made as README "The mediax_reader role" says.
std::string make_reader_role(const std::string& owner_url) {
  const std::string role = random_hex("reader_", 12);
  pqxx::connection c(owner_url);
  pqxx::nontransaction tx(c);
  tx.exec("CREATE ROLE " + tx.quote_name(role) + " LOGIN");
  tx.exec("GRANT mediax_reader TO " + tx.quote_name(role));
  return role;
}

// What one read of the view saw for an app: grant id -> token, and whether any row had expired by
// the reader's clock when the query was sent.
struct ViewRead {
  std::map<std::int64_t, std::string> tokens;
  int expired = 0;
};

ViewRead read_view(pqxx::connection& c, const std::string& app) {
  pqxx::nontransaction tx(c);
  const auto sent = std::chrono::system_clock::now();
  ViewRead out;
  for (const auto& r : tx.exec_params(
           "SELECT grant_id, access_token, extract(epoch FROM expires_at)::float8 FROM mediax.access_tokens "
           "WHERE app_name = $1 AND grant_id IS NOT NULL",
           app)) {
    out.tokens[r[0].as<std::int64_t>()] = r[1].as<std::string>();
    const auto expires = std::chrono::system_clock::time_point(
        std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::duration<double>(r[2].as<double>())));
    if (expires <= sent) ++out.expired;
  }
  return out;
}

class Readers : public E2ETest {
 protected:
  // Connects `n` grants of a fake app whose tokens live `expires_in` seconds.
  std::vector<std::int64_t> connect_grants(const std::string& app, int n, int expires_in) {
    FakeOAuth2::Flags flags;
    flags.expires_in = expires_in;
    flags.rotate_refresh = true;
    fake_ = &start_fake(flags);
    register_fake_app(*fake_, app);
    std::vector<std::int64_t> ids;
    for (int i = 0; i < n; ++i) ids.push_back(connect(app, "user-" + std::to_string(i)));
    return ids;
  }
  std::int64_t server_connections_of(const std::string& role) const {
    pqxx::connection c(daemon_->db_url());
    pqxx::nontransaction tx(c);
    return tx.exec_params1("SELECT count(*) FROM pg_stat_activity WHERE usename = $1", role)[0].as<std::int64_t>();
  }

  FakeOAuth2* fake_ = nullptr;
};

TEST_F(Readers, ManyReadersThroughPgBouncerInTransactionModeShareAFewServerConnections) {
  const auto grants = connect_grants("crm", 3, 4);  // refreshed about every 2 s
  const std::string role = make_reader_role(daemon().db_url());
  test::PgBouncer bouncer(cluster(), {.pool_mode = "transaction", .pool_size = 3, .max_clients = 1000,
                                      .users = {"postgres", role}});
  const std::string url = bouncer.url(test::dbname_of(daemon().db_url()), role);

  constexpr int kClients = 120;
  constexpr int kThreads = 6;
  std::vector<std::unique_ptr<pqxx::connection>> clients;
  for (int i = 0; i < kClients; ++i) clients.push_back(std::make_unique<pqxx::connection>(url));

  std::atomic<bool> stop{false};
  std::atomic<std::int64_t> reads{0}, expired{0}, missing{0}, failed{0}, most_servers{0};
  std::mutex mu;
  std::map<std::int64_t, std::set<std::string>> seen;
  std::string failure;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      while (!stop) {
        for (int i = t; i < kClients && !stop; i += kThreads) {
          try {
            const auto r = read_view(*clients[static_cast<std::size_t>(i)], "crm");
            ++reads;
            expired += r.expired;
            missing += static_cast<std::int64_t>(grants.size()) - static_cast<std::int64_t>(r.tokens.size());
            std::lock_guard lk(mu);
            for (const auto& [id, token] : r.tokens) seen[id].insert(token);
          } catch (const std::exception& e) {
            ++failed;
            std::lock_guard lk(mu);
            failure = e.what();
          }
        }
      }
    });
  }
  const auto until = std::chrono::steady_clock::now() + 9s;
  while (std::chrono::steady_clock::now() < until) {
    most_servers = std::max(most_servers.load(), server_connections_of(role));
    std::this_thread::sleep_for(200ms);
  }
  stop = true;
  for (auto& th : threads) th.join();

  std::cout << "[ readers  ] " << reads << " reads by " << kClients << " clients through PgBouncer; at most "
            << most_servers << " server connections of the reader role\n";
  EXPECT_EQ(failed.load(), 0) << failure;
  EXPECT_GT(reads.load(), kClients) << "every client read more than once";
  EXPECT_EQ(expired.load(), 0) << "a read listed an expired token";
  EXPECT_EQ(missing.load(), 0) << "a read missed an active grant's token";
  EXPECT_GE(most_servers.load(), 1);
  EXPECT_LE(most_servers.load(), 3) << "PgBouncer's pool (3) bounds the server connections";
  for (const auto id : grants) {
    EXPECT_GE(seen[id].size(), 3U) << "grant " << id << ": its refreshes were seen through the pooler";
    for (const auto& t : seen[id]) remember_secret(t);
  }
  // The last token read of each grant is the one the platform honours now.
  for (const auto id : grants) {
    const auto now = published_token(daemon().db_url(), "crm", id);
    ASSERT_TRUE(now.has_value());
    EXPECT_TRUE(fake_->token_active(now->access_token));
  }
}

TEST_F(Readers, AStreamingReplicaShowsEachNewTokenAndNeverAnExpiredOne) {
  // A primary of this test's own (the replica copies the whole cluster), mediaxd on it.
  test::PgCluster primary;
  const std::string primary_url = primary.create_database("replicated");
  const std::string primary_dir = dir_ + "/primary";
  std::filesystem::create_directories(primary_dir);
  daemon_->stop();
  daemon_ = std::make_unique<Daemon>(primary_url, primary_dir);
  const auto grants = connect_grants("shop", 3, 4);
  const std::string role = make_reader_role(primary_url);

  auto standby = test::PgCluster::standby_of(primary);
  const std::string standby_url = "host=" + standby->socket_dir() + " port=5432 dbname=replicated user=" + role;
  pqxx::connection reader(standby_url);
  {
    pqxx::nontransaction tx(reader);
    ASSERT_TRUE(tx.exec1("SELECT pg_is_in_recovery()")[0].as<bool>()) << "not a standby";
  }
  pqxx::connection owner(primary_url);

  // For ~10 s (five token lifetimes): each read of the replica lists every grant with a token
  // that has not expired, and each token the primary publishes shows up on the replica soon.
  std::map<std::int64_t, std::set<std::string>> on_replica;
  std::map<std::int64_t, std::set<std::string>> on_primary;
  int reads = 0, expired = 0, missing = 0;
  const auto until = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < until) {
    const auto p = read_view(owner, "shop");
    for (const auto& [id, token] : p.tokens) on_primary[id].insert(token);
    const auto r = read_view(reader, "shop");
    ++reads;
    expired += r.expired;
    missing += static_cast<int>(grants.size() - r.tokens.size());
    for (const auto& [id, token] : r.tokens) on_replica[id].insert(token);
    std::this_thread::sleep_for(50ms);
  }
  // The tokens published last may still be on their way: give the replica a moment for them.
  EXPECT_TRUE(eventually(
      [&] {
        const auto p = read_view(owner, "shop");
        const auto r = read_view(reader, "shop");
        for (const auto& [id, token] : r.tokens) on_replica[id].insert(token);
        return p.tokens == r.tokens;
      },
      5s))
      << "the replica did not catch up with the primary";
  std::cout << "[ readers  ] " << reads << " reads of the replica\n";
  EXPECT_EQ(expired, 0) << "the replica listed an expired token";
  EXPECT_EQ(missing, 0) << "a read of the replica missed an active grant";
  for (const auto id : grants) {
    EXPECT_GE(on_primary[id].size(), 4U) << "grant " << id << " was refreshed through the run";
    for (const auto& t : on_primary[id]) {
      remember_secret(t);
      EXPECT_EQ(on_replica[id].count(t), 1U) << "grant " << id << ": a token the primary published never reached "
                                             << "the replica";
    }
  }
  // The replica is read-only, for readers and everyone else.
  {
    pqxx::connection standby_owner("host=" + standby->socket_dir() + " port=5432 dbname=replicated user=postgres");
    pqxx::nontransaction tx(standby_owner);
    EXPECT_THROW(tx.exec("DELETE FROM mediax.tokens"), pqxx::sql_error);
  }
  {
    // Notifications are not replicated, and a standby says so: readers of it poll.
    pqxx::connection r(standby_url);
    pqxx::nontransaction tx(r);
    EXPECT_THROW(tx.exec("LISTEN mediax_tokens"), pqxx::sql_error);
  }
  daemon_->stop();  // before its database goes
}

TEST_F(Readers, MediaxdRunsThroughPgBouncerInSessionModeListenAndNotifyIncluded) {
  test::PgBouncer bouncer(cluster(), {.pool_mode = "session", .pool_size = 60, .max_clients = 200,
                                      .users = {"postgres"}});
  const std::string direct_url = cluster().create_database(random_hex("bouncer_", 10));
  const std::string url = bouncer.url(test::dbname_of(direct_url));
  const std::string dir_a = dir_ + "/a", dir_b = dir_ + "/b";
  std::filesystem::create_directories(dir_a);
  std::filesystem::create_directories(dir_b);
  daemon_->stop();
  daemon_ = std::make_unique<Daemon>(url, dir_a);  // `mediaxd migrate` through the pooler too
  const auto grants = connect_grants("viapool", 2, 4);
  Daemon other(url, dir_b);
  remember_secret(other.api_key());

  // Both instances refresh through the pooler; each serves the token the other stored, which it
  // learns by LISTEN mediax_tokens (a session's feature: transaction mode could not carry it).
  const auto before = fake_->stat("refreshes");
  ASSERT_TRUE(eventually([&] { return fake_->stat("refreshes") >= before + 4; }, 15s))
      << "no refreshes through the pooler: " << bouncer.log();
  for (const auto id : grants) {
    const std::string path = "/v1/grants/" + std::to_string(id) + "/token";
    EXPECT_TRUE(eventually(
        [&] {
          const auto stored = published_token(direct_url, "viapool", id);
          const auto a = daemon().get(path);
          const auto b = other.get(path);
          if (!stored || a.status != 200 || b.status != 200) return false;
          remember_secret(stored->access_token);
          return a.json().value("access_token", "") == stored->access_token &&
                 b.json().value("access_token", "") == stored->access_token;
        },
        5s))
        << "both instances serve the stored token of grant " << id;
  }
  EXPECT_EQ(daemon().get("/readyz").status, 200);
  EXPECT_EQ(other.get("/readyz").status, 200);
  EXPECT_EQ(fake_->stat("dead_refresh_token_uses"), 0) << "a rotated refresh token was used twice";
  other.stop();
  for (const auto& s : secrets_in(other.log(), known_secrets())) {
    ADD_FAILURE() << "the second instance logged a secret (" << s.substr(0, 4) << "..., " << s.size() << " characters)";
  }
}

}  // namespace
}  // namespace mediax::e2e
