#include "net/idle_connections.hpp"

#include <iterator>
#include <utility>

#include <boost/asio/execution_context.hpp>

namespace mediax::net {

IdleConnections::IdleConnections(const TimeSource& time, std::chrono::seconds keep_alive, std::size_t max_per_origin)
    : time_(time), keep_alive_(keep_alive), max_per_origin_(max_per_origin) {}

std::unique_ptr<Connection> IdleConnections::take(const std::string& origin) {
  for (;;) {
    std::vector<std::unique_ptr<Connection>> stale;  // closed outside the lock
    std::unique_ptr<Connection> newest;
    {
      std::lock_guard lk(mu_);
      if (closed_) return nullptr;
      auto it = idle_.find(origin);
      if (it == idle_.end()) return nullptr;
      auto& list = it->second;
      // The oldest are at the front: drop those past keep_alive, take the newest.
      const auto now = time_.monotonic();
      std::size_t expired = 0;
      while (expired < list.size() && now - list[expired].since > keep_alive_) ++expired;
      for (std::size_t i = 0; i < expired; ++i) stale.push_back(std::move(list[i].conn));
      list.erase(list.begin(), list.begin() + static_cast<std::ptrdiff_t>(expired));
      if (!list.empty()) {
        newest = std::move(list.back().conn);
        list.pop_back();
      }
      if (list.empty()) idle_.erase(it);
    }
    if (!newest) return nullptr;
    // Closed by the server while it idled (its idle timeout is shorter than ours): closed here too,
    // and the next newest is looked at (it is likely closed as well, but asking costs no call).
    if (newest->fit_for_reuse()) return newest;
  }
}

void IdleConnections::give(const std::string& origin, std::unique_ptr<Connection> c) {
  std::lock_guard lk(mu_);
  if (closed_) return;  // c is closed as it goes out of scope
  auto& list = idle_[origin];
  if (list.size() >= max_per_origin_) return;
  list.push_back(Idle{std::move(c), time_.monotonic()});
}

void IdleConnections::close_all() {
  std::map<std::string, std::vector<Idle>> all;
  {
    std::lock_guard lk(mu_);
    closed_ = true;
    all.swap(idle_);
  }
}

bool IdleConnections::closed() {
  std::lock_guard lk(mu_);
  return closed_;
}

namespace {

// The IdleConnections of every client whose calls ran on one io_context, living as long as it.
// Its shutdown runs before the io_context's services are destroyed, so the kept sockets are
// closed while their socket service still exists.
class IdlePools final : public boost::asio::execution_context::service {
 public:
  static inline boost::asio::execution_context::id id;

  explicit IdlePools(boost::asio::execution_context& ctx) : service(ctx) {}

  std::shared_ptr<IdleConnections> pool(std::uint64_t client,
                                        const std::function<std::shared_ptr<IdleConnections>()>& make) {
    std::lock_guard lk(mu_);
    auto it = pools_.find(client);
    if (it != pools_.end()) return it->second;
    // Pools of destroyed clients (closed) go when a new client comes.
    for (auto p = pools_.begin(); p != pools_.end();) p = p->second->closed() ? pools_.erase(p) : std::next(p);
    auto made = make();
    if (shut_down_) {
      made->close_all();  // a call started while the io_context is being destroyed keeps nothing
    } else {
      pools_.emplace(client, made);
    }
    return made;
  }

 private:
  void shutdown() override {
    std::map<std::uint64_t, std::shared_ptr<IdleConnections>> pools;
    {
      std::lock_guard lk(mu_);
      shut_down_ = true;
      pools.swap(pools_);
    }
    for (auto& [client, p] : pools) p->close_all();
  }

  std::mutex mu_;
  bool shut_down_ = false;
  std::map<std::uint64_t, std::shared_ptr<IdleConnections>> pools_;
};

}  // namespace

std::shared_ptr<IdleConnections> idle_connections_on(boost::asio::io_context& io, std::uint64_t client,
                                                     const std::function<std::shared_ptr<IdleConnections>()>& make) {
  return boost::asio::use_service<IdlePools>(io).pool(client, make);
}

}  // namespace mediax::net
