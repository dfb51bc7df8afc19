#include "net/client_state.hpp"

#include <algorithm>
#include <atomic>
#include <exception>
#include <utility>

#include <boost/asio/post.hpp>
#include <boost/system/error_code.hpp>

#include "net/http_call.hpp"

namespace mediax::net {

namespace {

// Name lookups at once: a slow resolver holds one thread each; calls on kept connections need none.
constexpr int kLookupThreads = 4;

std::uint64_t new_client_id() {
  static std::atomic<std::uint64_t> next{0};
  return ++next;
}

}  // namespace

ClientState::ClientState(HttpClientOptions opts)
    : opts_(std::move(opts)), id_(new_client_id()), tls_(boost::asio::ssl::context::tls_client) {
  boost::system::error_code ec;
  tls_.set_options(boost::asio::ssl::context::default_workarounds | boost::asio::ssl::context::no_sslv2 |
                       boost::asio::ssl::context::no_sslv3,
                   ec);
  if (!ec && opts_.verify_tls) {
    if (opts_.ca_file.empty()) {
      tls_.set_default_verify_paths(ec);
    } else {
      tls_.load_verify_file(opts_.ca_file, ec);
    }
  }
  tls_ready_ = !ec;
}

ClientState::~ClientState() { shutdown(); }

std::shared_ptr<IdleConnections> ClientState::idle_on(boost::asio::io_context& io) {
  if (opts_.keep_alive.count() <= 0 || opts_.max_idle_per_origin == 0) return nullptr;
  return idle_connections_on(io, id_, [this] {
    auto pool = std::make_shared<IdleConnections>(time(), opts_.keep_alive, opts_.max_idle_per_origin);
    std::lock_guard lk(mu_);
    if (shut_down_) {
      pool->close_all();
    } else {
      std::erase_if(pools_, [](const auto& p) { return p.expired(); });
      pools_.push_back(pool);
    }
    return pool;
  });
}

bool ClientState::check_outbound(const std::string& scheme, const std::string& host,
                                 std::function<void(OutboundGuard::Check)> then) {
  std::lock_guard lk(mu_);
  if (shut_down_ || opts_.outbound == nullptr) return false;
  if (!lookups_) lookups_ = std::make_unique<boost::asio::thread_pool>(kLookupThreads);
  boost::asio::post(*lookups_, [guard = opts_.outbound, scheme, host, then = std::move(then)] {
    OutboundGuard::Check check;
    try {
      check = guard->check(scheme, host);
    } catch (const std::exception& e) {
      check.verdict = OutboundGuard::Verdict::unresolved;
      check.message = host + ": " + e.what();
    }
    then(std::move(check));
  });
  return true;
}

bool ClientState::add_call(std::uint64_t id, const std::shared_ptr<HttpCall>& call) {
  std::lock_guard lk(mu_);
  if (shut_down_) return false;
  calls_.emplace(id, call);
  return true;
}

void ClientState::remove_call(std::uint64_t id) {
  std::lock_guard lk(mu_);
  calls_.erase(id);
}

std::uint64_t ClientState::next_call_id() {
  std::lock_guard lk(mu_);
  return ++next_call_;
}

void ClientState::shutdown() {
  std::map<std::uint64_t, std::weak_ptr<HttpCall>> calls;
  std::unique_ptr<boost::asio::thread_pool> lookups;
  std::vector<std::weak_ptr<IdleConnections>> pools;
  {
    std::lock_guard lk(mu_);
    if (shut_down_) return;
    shut_down_ = true;
    calls.swap(calls_);
    lookups.swap(lookups_);
    pools.swap(pools_);
  }
  for (auto& [id, weak] : calls) {
    if (auto call = weak.lock()) call->cancel();
  }
  if (lookups) {
    lookups->stop();  // checks not yet begun are dropped: their calls are cancelled anyway
    lookups->join();
  }
  for (auto& weak : pools) {
    if (auto pool = weak.lock()) pool->close_all();
  }
}

}  // namespace mediax::net
