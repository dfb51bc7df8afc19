#include "fiber/condition.hpp"

#include <algorithm>
#include <thread>

namespace mediax::fiber {

struct Condition::Parked {
  Resume resume;
};

void Condition::wait(std::unique_lock<std::mutex>& lock) {
  if (!on_fiber()) {
    threads_.wait(lock);
    return;
  }
  park_on(lock, nullptr);
}

void Condition::wait_for(std::unique_lock<std::mutex>& lock, std::chrono::steady_clock::duration d) {
  if (!on_fiber()) {
    threads_.wait_for(lock, d);
    return;
  }
  park_on(lock, &d);
}

void Condition::park_on(std::unique_lock<std::mutex>& lock, const std::chrono::steady_clock::duration* limit) {
  auto me = std::make_shared<Parked>();
  park([&](const Resume& resume) {
    me->resume = resume;
    {
      // Listed before the caller's mutex is released: a notifier changes the state under that
      // mutex, so it finds this fiber listed (no lost wakeup).
      std::lock_guard lk(mu_);
      fibers_.push_back(me);
    }
    if (limit != nullptr) current_carrier()->post_after(*limit, [resume] { resume(); });
    lock.unlock();
  });
  {
    // Woken by the time limit or spuriously: no longer a waiter (a notify_one must not be spent
    // on it).
    std::lock_guard lk(mu_);
    for (auto it = fibers_.begin(); it != fibers_.end(); ++it) {
      if (*it == me) {
        fibers_.erase(it);
        break;
      }
    }
  }
  lock.lock();
}

void Condition::notify_one() {
  threads_.notify_one();
  for (;;) {
    std::shared_ptr<Parked> p;
    {
      std::lock_guard lk(mu_);
      if (fibers_.empty()) return;
      p = std::move(fibers_.front());
      fibers_.pop_front();
    }
    if (p->resume()) return;  // else its time limit woke it already: try the next
  }
}

void Condition::notify_all() {
  threads_.notify_all();
  std::deque<std::shared_ptr<Parked>> all;
  {
    std::lock_guard lk(mu_);
    all.swap(fibers_);
  }
  for (auto& p : all) p->resume();
}

void sleep_until(const TimeSource& time, MonoTime deadline) {
  for (auto now = time.monotonic(); now < deadline; now = time.monotonic()) {
    const auto slice = std::min<MonoClock::duration>(deadline - now, kWaitSlice);  // util/waits.hpp
    if (on_fiber()) {
      park([&](const Resume& resume) { current_carrier()->post_after(slice, [resume] { resume(); }); });
    } else {
      std::this_thread::sleep_for(slice);
    }
  }
}

void Mutex::lock() {
  std::unique_lock lk(mu_);
  while (held_) freed_.wait(lk);
  held_ = true;
}

bool Mutex::try_lock() {
  std::lock_guard lk(mu_);
  if (held_) return false;
  held_ = true;
  return true;
}

void Mutex::unlock() {
  {
    std::lock_guard lk(mu_);
    held_ = false;
  }
  freed_.notify_one();
}

}  // namespace mediax::fiber
