#include "store/pg_pool.hpp"

#include <algorithm>
#include <exception>
#include <system_error>
#include <utility>

#include "fiber/condition.hpp"
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
      throw DatabaseUnreachableError(context + ": no database connection free after 30 s (pool size " +
                                     std::to_string(size_) + ")");
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
    throw DatabaseUnreachableError(context + ": cannot connect to database (" + description_ +
                                   "): " + primary_message(e.what()));
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

// One fiber caller's unit of work. Shared by the caller and the pool (queue, then the thread
// running it), so the pool's threads and destructor never touch the caller's stack except through
// `work` and `context`, which they use only while the caller waits for them.
struct Pool::Job {
  Job(Work w, const std::string* c) : work(w), context(c) {}
  const Work work;
  const std::string* const context;
  // Guards the members below. The job's own, not the pool's: a caller woken by ~Pool relocks it
  // after the pool is gone.
  std::mutex mu;
  fiber::Condition answered;
  bool started = false;    // a thread is running work: the caller's stack must outlive it
  bool abandoned = false;  // the caller is gone before any thread took it: not to be run
  bool done = false;
  std::exception_ptr error;
};

Pool::~Pool() {
  std::deque<std::shared_ptr<Job>> queued;
  {
    std::lock_guard lock(work_mu_);
    stopping_ = true;
    queued.swap(jobs_);
  }
  work_cv_.notify_all();
  // A fiber still waiting must not wait forever for threads that are going away: its work fails.
  for (auto& job : queued) {
    std::lock_guard lk(job->mu);
    if (job->abandoned) continue;
    job->error = std::make_exception_ptr(StoreError(*job->context + ": database pool closed"));
    job->done = true;
    job->answered.notify_one();  // under job->mu: the caller cannot see done and leave before this returns
  }
  for (auto& t : workers_) t.join();  // each finishes the unit it is running
}

void Pool::run_off_carrier(const std::string& context, Work work) {
  auto job = std::make_shared<Job>(work, &context);
  {
    std::lock_guard lock(work_mu_);
    if (stopping_) throw StoreError(context + ": database pool closed");
    jobs_.push_back(job);
    if (std::cmp_greater(jobs_.size(), idle_workers_) && std::cmp_less(workers_.size(), size_)) {
      try {
        workers_.emplace_back([this] { worker_loop(); });
        ++idle_workers_;  // idle from its start: it takes a job at once
      } catch (const std::system_error& e) {
        // No new thread: one already running takes the work later; with none, it fails now.
        if (workers_.empty()) {
          jobs_.pop_back();
          throw StoreError(context + ": cannot start a database thread: " + e.what());
        }
      }
    }
  }
  work_cv_.notify_one();

  std::unique_lock lock(job->mu);
  // A fiber destroyed while parked here (its carrier stopped at shutdown) unwinds this frame: work
  // not yet taken is dropped; work a thread is running uses this stack, so it is waited for.
  struct Unwinding {
    Job& job;
    std::unique_lock<std::mutex>& lock;
    bool returned = false;  // the loop below saw the work done: nothing to undo
    ~Unwinding() {
      if (returned) return;
      if (!lock.owns_lock()) lock.lock();
      if (!job.started) {
        job.abandoned = true;
        return;
      }
      while (!job.done) job.answered.wait(lock);
    }
  } unwinding{*job, lock};
  while (!job->done) job->answered.wait(lock);
  unwinding.returned = true;
  // Moved out, as the thread moved it in: every reference to the exception is this caller's, so
  // it is freed here, after its last use (its reference count is in libstdc++, which
  // ThreadSanitizer does not see: a thread dropping the last reference was reported as a race).
  std::exception_ptr error = std::move(job->error);
  lock.unlock();
  if (error) std::rethrow_exception(std::move(error));
}

void Pool::worker_loop() {
  std::unique_lock lock(work_mu_);
  for (;;) {
    if (jobs_.empty()) {
      if (stopping_) return;
      work_cv_.wait(lock);
      continue;
    }
    const std::shared_ptr<Job> job = std::move(jobs_.front());
    jobs_.pop_front();
    --idle_workers_;
    lock.unlock();
    bool run = false;
    {
      std::lock_guard lk(job->mu);
      run = job->started = !job->abandoned;
    }
    std::exception_ptr error;
    if (run) {
      try {
        job->work();  // run_here: its errors are already StoreError / DuplicateError
      } catch (...) {
        error = std::current_exception();
      }
    }
    lock.lock();
    // Idle again before the caller hears back: a fiber making one call after another finds this
    // thread free rather than starting another.
    ++idle_workers_;
    if (run) {
      std::lock_guard lk(job->mu);
      job->error = std::move(error);  // none kept here (run_off_carrier says why)
      job->done = true;
      job->answered.notify_one();  // under job->mu, as in ~Pool
    }
  }
}

}  // namespace mediax::pg
