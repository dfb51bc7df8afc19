// A fixed-size pool of libpqxx connections. Connections are opened lazily, handed to one
// thread at a time, and dropped when they break; the next use opens a new one.
//
// run() executes one unit of work (normally one transaction) on a pooled connection. When a
// connection that sat idle in the pool turns out to be dead (server restarted), the work is
// retried once on a fresh connection: a transaction that failed before COMMIT changed nothing,
// and a failure during COMMIT (in_doubt_error) is never retried.
//
// Called on a fiber (fiber/fiber.hpp), run() hands the whole unit of work to a thread of the
// pool's own and parks the fiber: a round trip, or a wait for a free connection, on the carrier's
// thread would hold every fiber of that carrier (a platform down fails hundreds of refreshes at
// once, each storing its failure). Callers on plain threads run it themselves, as before.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include <pqxx/pqxx>

#include "fiber/fiber.hpp"
#include "store/pg_util.hpp"

namespace mediax::pg {

class Pool {
 public:
  Pool(std::string url, int size);
  // Fails the work still queued for the pool's threads (its fibers get a StoreError), lets each
  // thread finish the unit it is running, and joins them.
  ~Pool();
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  // Runs fn(pqxx::connection&) and returns its result; every error leaves as StoreError or
  // DuplicateError prefixed with context.
  template <class F>
  auto run(const std::string& context, F&& fn) -> std::invoke_result_t<F&, pqxx::connection&> {
    using R = std::invoke_result_t<F&, pqxx::connection&>;
    if (!fiber::on_fiber()) return run_here(context, fn);
    // fn and the result stay on the parked fiber's stack, which lives until the pool's thread is
    // done with them (run_off_carrier waits for that even if the fiber is destroyed meanwhile):
    // the work borrows them by reference, nothing is copied.
    if constexpr (std::is_void_v<R>) {
      auto work = [&] { run_here(context, fn); };
      run_off_carrier(context, Work::of(work));
    } else {
      std::optional<R> result;
      auto work = [&] { result.emplace(run_here(context, fn)); };
      run_off_carrier(context, Work::of(work));
      return std::move(*result);
    }
  }

  const std::string& description() const { return description_; }

 private:
  // A borrowed callable (not owned, not copied): the fiber path's only type erasure, so run()'s
  // template stays as thin as before for the plain-thread callers.
  class Work {
   public:
    // A factory, not a constructor template: that would also take a Work's copies, wrapping them.
    template <class G>
    static Work of(G& g) {
      return Work(&g, [](void* t) { (*static_cast<G*>(t))(); });
    }
    void operator()() const { call_(target_); }

   private:
    Work(void* target, void (*call)(void*)) : target_(target), call_(call) {}
    void* target_;
    void (*call_)(void*);
  };
  struct Job;

  // The unit of work on the calling thread: take, fn, retry once, give back, translate.
  template <class F>
  auto run_here(const std::string& context, F& fn) -> std::invoke_result_t<F&, pqxx::connection&> {
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

  // On a fiber: queues work for the pool's threads, parks until one has run it, rethrows what it
  // threw (already translated by run_here).
  void run_off_carrier(const std::string& context, Work work);
  void worker_loop();

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

  // The fiber callers' work and the threads that run it: started one at a time by a caller that
  // finds no thread idle, at most size_ (one more would only wait for a connection), none at
  // all for a pool no fiber uses.
  std::mutex work_mu_;  // guards the members below
  std::condition_variable work_cv_;
  std::deque<std::shared_ptr<Job>> jobs_;
  std::vector<std::thread> workers_;
  int idle_workers_ = 0;  // threads not running work: queued work beyond them starts another
  bool stopping_ = false;
};

}  // namespace mediax::pg
