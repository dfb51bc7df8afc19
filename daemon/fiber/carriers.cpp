#include "fiber/carriers.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

namespace mediax::fiber {

AsioCarrier::AsioCarrier() : work_(boost::asio::make_work_guard(io_)), thread_([this] { io_.run(); }) {}

AsioCarrier::~AsioCarrier() { stop(); }

void AsioCarrier::post(std::function<void()> fn) { boost::asio::post(io_, std::move(fn)); }

void AsioCarrier::post_after(std::chrono::steady_clock::duration d, std::function<void()> fn) {
  auto timer = std::make_shared<boost::asio::steady_timer>(io_, d);
  timer->async_wait([timer, fn = std::move(fn)](const boost::system::error_code&) { fn(); });
}

void AsioCarrier::stop() {
  if (!thread_.joinable()) return;
  work_.reset();
  io_.stop();
  thread_.join();
}

Carriers::Carriers(std::size_t count) {
  if (count == 0) count = 1;
  for (std::size_t i = 0; i < count; ++i) carriers_.push_back(std::make_unique<AsioCarrier>());
}

Carriers::~Carriers() { stop(); }

AsioCarrier& Carriers::next() { return *carriers_[next_.fetch_add(1, std::memory_order_relaxed) % carriers_.size()]; }

void Carriers::stop() {
  for (auto& c : carriers_) c->stop();
}

boost::asio::io_context* current_io() {
  auto* c = dynamic_cast<AsioCarrier*>(current_carrier());
  return c != nullptr ? &c->io() : nullptr;
}

}  // namespace mediax::fiber
