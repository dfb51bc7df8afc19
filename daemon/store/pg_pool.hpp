// A fixed-size pool of libpqxx connections. Connections are opened lazily, handed to one
// thread at a time, and dropped when they break; the next use opens a new one.
//
// run() executes one unit of work (normally one transaction) on a pooled connection. When a
// connection that sat idle in the pool turns out to be dead (server restarted), the work is
// retried once on a fresh connection: a transaction that failed before COMMIT changed nothing,
// and a failure during COMMIT (in_doubt_error) is never retried.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <pqxx/pqxx>

#include "store/pg_util.hpp"

namespace mediax::pg {

class Pool {
 public:
  Pool(std::string url, int size);
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  // Runs fn(pqxx::connection&) and returns its result; every error leaves as StoreError or
  // DuplicateError prefixed with context.
  template <class F>
  auto run(const std::string& context, F&& fn) -> std::invoke_result_t<F&, pqxx::connection&> {
    for (int attempt = 0;; ++attempt) {
      bool reused = false;
      std::unique_ptr<pqxx::connection> conn = take(context, reused);
      try {
        if constexpr (std::is_void_v<std::invoke_result_t<F&, pqxx::connection&>>) {
          fn(*conn);
          give_back(std::move(conn));
          return;
        } else {
          auto result = fn(*conn);
          give_back(std::move(conn));
          return result;
        }
      } catch (const pqxx::in_doubt_error&) {
        give_back(std::move(conn));
        rethrow_translated(context);
      } catch (...) {
        const bool dead = !conn->is_open();
        give_back(std::move(conn));
        if (dead && reused && attempt == 0) continue;
        rethrow_translated(context);
      }
    }
  }

  const std::string& description() const { return description_; }

 private:
  // Blocks until a connection is free or may be opened; throws StoreError when opening fails
  // or nothing frees up in time. reused: it came from the idle list.
  std::unique_ptr<pqxx::connection> take(const std::string& context, bool& reused);
  // Returns a connection; a closed one is dropped and its slot freed.
  void give_back(std::unique_ptr<pqxx::connection> conn);

  const std::string url_;
  const std::string description_;
  const int size_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<pqxx::connection>> idle_;
  int open_ = 0;  // connections existing: idle plus handed out plus being opened
};

}  // namespace mediax::pg
