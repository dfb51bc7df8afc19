#include "store/pg_pool.hpp"

#include <algorithm>

#include "store/store.hpp"

namespace mediax::pg {

namespace {
// How long a caller waits for a busy pool before giving up: long enough for a burst of
// refreshes, short enough that a wedged database surfaces as an error, not a hang.
constexpr auto kTakeTimeout = std::chrono::seconds(30);
}  // namespace

Pool::Pool(std::string url, int size)
    : url_(std::move(url)), description_(describe_db_url(url_)), size_(std::clamp(size, 1, 1024)) {}

std::unique_ptr<pqxx::connection> Pool::take(const std::string& context, bool& reused) {
  {
    std::unique_lock lock(mu_);
    const bool ready = cv_.wait_for(lock, kTakeTimeout, [this] { return !idle_.empty() || open_ < size_; });
    if (!ready)
      throw DatabaseUnreachableError(context + ": no database connection free after 30 s (pool size " + std::to_string(size_) + ")");
    if (!idle_.empty()) {
      auto conn = std::move(idle_.back());
      idle_.pop_back();
      reused = true;
      return conn;
    }
    ++open_;  // reserve the slot, open outside the lock
  }
  reused = false;
  try {
    return std::make_unique<pqxx::connection>(url_);
  } catch (const std::exception& e) {
    {
      std::lock_guard lock(mu_);
      --open_;
    }
    cv_.notify_one();
    // libpq's connection errors name host and user but never the password.
    throw DatabaseUnreachableError(context + ": cannot connect to database (" + description_ + "): " + primary_message(e.what()));
  }
}

void Pool::give_back(std::unique_ptr<pqxx::connection> conn) {
  {
    std::lock_guard lock(mu_);
    if (conn && conn->is_open()) {
      idle_.push_back(std::move(conn));
    } else {
      --open_;
    }
  }
  conn.reset();  // a dead connection is closed outside the lock
  cv_.notify_one();
}

}  // namespace mediax::pg
