#include "fiber/fiber.hpp"

#include <boost/context/fiber.hpp>
#include <boost/context/protected_fixedsize_stack.hpp>

#include <atomic>
#include <mutex>
#include <stdexcept>
#include <utility>
#include <vector>

// ThreadSanitizer follows one stack per thread unless told of the switches
// (sanitizer/tsan_interface.h): without this, every fiber switch looks like a data race.
#if defined(__SANITIZE_THREAD__)
#define MEDIAX_TSAN_FIBERS 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define MEDIAX_TSAN_FIBERS 1
#endif
#endif
#ifdef MEDIAX_TSAN_FIBERS
#include <sanitizer/tsan_interface.h>
#endif

namespace mediax::fiber {

namespace ctx = boost::context;

// 256 KiB of address space each, with a guard page below: pages are only resident once touched
// (a refresh uses a few tens of KiB: JSON, TLS, libpqxx), and an overflow faults instead of
// corrupting a neighbour.
constexpr std::size_t kStackBytes = 256 * 1024;
// Stacks kept for the next fibers: a catch-up starts thousands of fibers a second, and an mmap and
// munmap per fiber (with the TLB shootdowns of the unmap) were a seventh of the daemon's CPU. As
// many as refreshes run at once by default (refresh.max_concurrent); each keeps the pages its
// fibers touched, a few tens of KiB.
constexpr std::size_t kStacksKept = 128;

// Boost.Context's StackAllocator over a shared free list of guarded stacks.
class PooledStacks {
 public:
  PooledStacks() : pool_(&shared()) {}
  ctx::stack_context allocate() {
    {
      std::lock_guard lk(pool_->mu);
      if (!pool_->free.empty()) {
        auto sc = pool_->free.back();
        pool_->free.pop_back();
        return sc;
      }
    }
    return pool_->make.allocate();
  }
  void deallocate(ctx::stack_context& sc) noexcept {
    {
      std::lock_guard lk(pool_->mu);
      if (pool_->free.size() < kStacksKept) {
        pool_->free.push_back(sc);
        return;
      }
    }
    pool_->make.deallocate(sc);
  }

 private:
  struct Pool {
    std::mutex mu;
    std::vector<ctx::stack_context> free;
    ctx::protected_fixedsize_stack make{kStackBytes};
  };
  // Never destroyed: a fiber may end during static destruction (a carrier stopped late).
  static Pool& shared() {
    static auto* pool = new Pool;
    return *pool;
  }
  Pool* pool_;
};

struct State : std::enable_shared_from_this<State> {
  Carrier* carrier = nullptr;
  std::function<void()> fn;
  ctx::fiber self;    // the fiber while it is not running
  ctx::fiber caller;  // the carrier's side while the fiber runs
  bool finished = false;
#ifdef MEDIAX_TSAN_FIBERS
  void* tsan_fiber = nullptr;
  void* tsan_caller = nullptr;
#endif
};

struct Resume::Once {
  std::atomic<bool> fired{false};
};

namespace {

thread_local State* t_current = nullptr;

// Runs the fiber on the calling (carrier) thread until it parks or ends.
void run(const std::shared_ptr<State>& s) {
  State* outer = t_current;
  t_current = s.get();
#ifdef MEDIAX_TSAN_FIBERS
  s->tsan_caller = __tsan_get_current_fiber();
  __tsan_switch_to_fiber(s->tsan_fiber, 0);
#endif
  s->self = std::move(s->self).resume();
  t_current = outer;
  if (s->finished) {
#ifdef MEDIAX_TSAN_FIBERS
    __tsan_destroy_fiber(s->tsan_fiber);
    s->tsan_fiber = nullptr;
#endif
    s->fn = nullptr;
  }
}

// Back to the carrier; returns when the fiber is run again.
void switch_out(State& s) {
#ifdef MEDIAX_TSAN_FIBERS
  __tsan_switch_to_fiber(s.tsan_caller, 0);
#endif
  s.caller = std::move(s.caller).resume();
}

}  // namespace

bool Resume::operator()() const {
  if (!state_ || once_->fired.exchange(true)) return false;
  auto s = state_;
  s->carrier->post([s] { run(s); });
  return true;
}

void spawn(Carrier& carrier, std::function<void()> fn) {
  auto s = std::make_shared<State>();
  s->carrier = &carrier;
  s->fn = std::move(fn);
#ifdef MEDIAX_TSAN_FIBERS
  s->tsan_fiber = __tsan_create_fiber(0);
#endif
  State* raw = s.get();
  s->self = ctx::fiber(std::allocator_arg, PooledStacks(), [raw](ctx::fiber&& caller) {
    raw->caller = std::move(caller);
    try {
      raw->fn();
    } catch (const ctx::detail::forced_unwind&) {
      throw;  // the fiber is being destroyed unfinished: Boost.Context unwinds its stack
    } catch (...) {
      // Dropped (fiber.hpp): fn handles its own errors.
    }
    raw->finished = true;
#ifdef MEDIAX_TSAN_FIBERS
    __tsan_switch_to_fiber(raw->tsan_caller, 0);
#endif
    return std::move(raw->caller);
  });
  carrier.post([s] { run(s); });
}

Carrier* current_carrier() { return t_current != nullptr ? t_current->carrier : nullptr; }

void park(const std::function<void(const Resume&)>& arm) {
  State* s = t_current;
  if (s == nullptr) throw std::logic_error("fiber::park called outside a fiber");
  const Resume resume(s->shared_from_this(), std::make_shared<Resume::Once>());
  arm(resume);
  switch_out(*s);
}

}  // namespace mediax::fiber
