#include "net/async_http_client.hpp"

#include <future>
#include <mutex>
#include <thread>
#include <utility>

#include <boost/asio/executor_work_guard.hpp>

#include "fiber/carriers.hpp"
#include "net/client_state.hpp"
#include "net/http_call.hpp"

namespace mediax {

namespace {

class BeastHttpClient final : public AsyncHttpClient {
 public:
  explicit BeastHttpClient(const HttpClientOptions& opts) : state_(std::make_shared<net::ClientState>(opts)) {}

  ~BeastHttpClient() override {
    state_->shutdown();
    std::lock_guard lk(own_mu_);
    if (own_) {
      // No send() is running (it would be using the client being destroyed): what is left on the
      // loop is idle connections and name lookups of calls already answered.
      own_->work.reset();
      own_->io.stop();
      own_->thread.join();
    }
  }

  void start(boost::asio::io_context& io, HttpClientRequest req,
             std::function<void(HttpClientResponse)> done) override {
    net::HttpCall::start(state_, io, std::move(req), std::move(done));
  }

  HttpClientResponse send(const HttpClientRequest& req) override {
    if (auto* io = fiber::current_io()) {
      // A refresh on a fiber: the call runs on the fiber's own carrier (its kept connections are
      // there) and the fiber parks until the answer; the carrier drives the other fibers meanwhile.
      HttpClientResponse out;
      fiber::park([&](const fiber::Resume& resume) {
        start(*io, req, [&out, resume](HttpClientResponse r) {
          out = std::move(r);  // on the carrier's thread, the fiber parked: nobody else touches out
          resume();
        });
      });
      return out;
    }
    auto answer = std::make_shared<std::promise<HttpClientResponse>>();
    auto future = answer->get_future();
    start(own_io(), req, [answer](HttpClientResponse r) { answer->set_value(std::move(r)); });
    return future.get();
  }

 private:
  // The loop that runs send()'s calls: one thread, started by the first send().
  struct OwnLoop {
    boost::asio::io_context io{1};
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work{io.get_executor()};
    std::thread thread;
  };

  boost::asio::io_context& own_io() {
    std::lock_guard lk(own_mu_);
    if (!own_) {
      own_ = std::make_unique<OwnLoop>();
      own_->thread = std::thread([loop = own_.get()] { loop->io.run(); });
    }
    return own_->io;
  }

  std::shared_ptr<net::ClientState> state_;
  std::mutex own_mu_;
  std::unique_ptr<OwnLoop> own_;
};

}  // namespace

std::unique_ptr<AsyncHttpClient> make_async_http_client(const HttpClientOptions& opts) {
  return std::make_unique<BeastHttpClient>(opts);
}

}  // namespace mediax
