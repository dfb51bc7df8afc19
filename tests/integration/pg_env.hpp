// Shared by the integration tests: the one PostgreSQL cluster of the run (started by the
// GoogleTest environment in main.cpp) and a fixture that gives each test a fresh migrated
// database with a Store on it.
#pragma once

#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "core/types.hpp"
#include "crypto/sealer.hpp"
#include "store/store.hpp"
#include "support/pg_cluster.hpp"

namespace mediax::test {

// The cluster of this run; valid between environment SetUp and TearDown.
PgCluster& cluster();
// A database name not used before in this run ("<prefix>_<pid>_<n>").
std::string unique_db_name(const std::string& prefix);

// A fixed point in time for tests that pass times explicitly (leases, auth requests).
inline TimePoint t0() { return from_unix(1'900'000'000); }

// The encryption key of the tests' stores (one fixed key, so every store of a run reads what the
// others wrote), and one made from `fill` for tests of other keys.
std::shared_ptr<const crypto::Sealer> test_sealer();
crypto::SealKey test_seal_key(char fill);

App sample_app(const std::string& name, bool client_credentials = false);
Grant sample_grant(std::int64_t app_id, const std::string& account_id, const std::string& refresh_token);
Token sample_token(const std::string& access_token, TimePoint expires_at);

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override;

  std::string url_;
  std::unique_ptr<Store> store_;  // make_pg_store(url_, 8, test_sealer())
};

}  // namespace mediax::test
