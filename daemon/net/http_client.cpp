// The real HttpClient over cpp-httplib (built with CPPHTTPLIB_OPENSSL_SUPPORT by Debian; the define comes
// from the cpp-httplib pkg-config flags). A call has a connection to itself (new, or an idle kept one taken
// under a lock), so send() is thread-safe.
#include "net/http_client.hpp"

#include <algorithm>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <string_view>
#include <thread>
#include <vector>

#include <httplib.h>

#include "net/outbound_guard.hpp"
#include "util/strings.hpp"
#include "util/time_source.hpp"
#include "util/waits.hpp"
#include "util/url.hpp"

namespace mediax {

namespace {

// Token endpoints answer with a few hundred bytes; anything this large is not a token response.
constexpr std::size_t kMaxResponseBytes = 4 * 1024 * 1024;

// Our own vocabulary for transport failures; platform classes turn it into "transport_<error>".
std::string error_name(httplib::Error e) {
  switch (e) {
    case httplib::Error::Success: return "";
    case httplib::Error::ConnectionTimeout: return "timeout";
    case httplib::Error::Connection: return "connection";
    case httplib::Error::BindIPAddress: return "connection";
    case httplib::Error::SSLConnection: return "tls";
    case httplib::Error::SSLLoadingCerts: return "tls";
    case httplib::Error::SSLServerVerification: return "tls";
    // cpp-httplib 0.11 reports a read timeout as a read error.
    case httplib::Error::Read: return "read";
    case httplib::Error::Write: return "write";
    case httplib::Error::ExceedRedirectCount: return "redirect";
    case httplib::Error::Canceled: return "canceled";
    case httplib::Error::Compression: return "compression";
    default: return "unknown";
  }
}

// Enforces the whole-call deadline: cpp-httplib only limits each read. One thread for every
// call of a client; when a call's deadline passes it shuts the call's socket down
// (ClientImpl::stop), again every 50 ms until the call returns: a stop before the socket exists
// does nothing.
class Watchdog {
 public:
  explicit Watchdog(const TimeSource& time) : time_(time), thread_([this] { loop(); }) {}
  ~Watchdog() {
    {
      std::lock_guard lk(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

  std::uint64_t watch(httplib::ClientImpl* cli, MonoTime deadline) {
    std::lock_guard lk(mu_);
    const auto id = ++next_id_;
    entries_.emplace(id, Entry{cli, deadline, false});
    cv_.notify_all();
    return id;
  }
  // Stops watching; true when the deadline had passed and the call was cut off.
  bool unwatch(std::uint64_t id) {
    std::lock_guard lk(mu_);
    auto it = entries_.find(id);
    if (it == entries_.end()) return false;
    const bool fired = it->second.fired;
    entries_.erase(it);
    return fired;
  }

 private:
  struct Entry {
    httplib::ClientImpl* cli;
    MonoTime deadline;
    bool fired;
  };

  void loop() {
    std::unique_lock lk(mu_);
    while (!stop_) {
      const auto now = time_.monotonic();
      auto next = MonoTime::max();
      for (auto& [id, e] : entries_) {
        if (now >= e.deadline) {
          e.fired = true;
          e.cli->stop();
          next = std::min(next, now + std::chrono::milliseconds(50));
        } else {
          next = std::min(next, e.deadline);
        }
      }
      if (next == MonoTime::max()) {
        cv_.wait(lk);
      } else {
        // In slices (util/waits.hpp): the deadline is on the TimeSource, not on this cv's clock.
        cv_.wait_for(lk, std::min<MonoClock::duration>(next - now, kWaitSlice));
      }
    }
  }

  const TimeSource& time_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::uint64_t, Entry> entries_;
  std::uint64_t next_id_ = 0;
  bool stop_ = false;
  std::thread thread_;
};

// Connections whose last call succeeded, per origin, newest last. A connection idle longer than
// keep_alive is closed when the next call to its origin looks for one; cpp-httplib itself checks
// that a taken connection is still open (peer closed: it connects again) before sending.
class IdleConnections {
 public:
  IdleConnections(const TimeSource& time, std::chrono::seconds keep_alive, std::size_t max_per_origin)
      : time_(time), keep_alive_(keep_alive), max_per_origin_(max_per_origin) {}

  std::unique_ptr<httplib::ClientImpl> take(const std::string& origin) {
    const auto now = time_.monotonic();
    std::vector<std::unique_ptr<httplib::ClientImpl>> stale;  // closed outside the lock
    std::unique_ptr<httplib::ClientImpl> out;
    {
      std::lock_guard lk(mu_);
      auto it = idle_.find(origin);
      if (it == idle_.end()) return nullptr;
      auto& list = it->second;
      // The oldest are at the front: drop those past keep_alive, take the newest.
      std::size_t fresh = 0;
      while (fresh < list.size() && now - list[fresh].since > keep_alive_) ++fresh;
      for (std::size_t i = 0; i < fresh; ++i) stale.push_back(std::move(list[i].cli));
      list.erase(list.begin(), list.begin() + static_cast<std::ptrdiff_t>(fresh));
      if (!list.empty()) {
        out = std::move(list.back().cli);
        list.pop_back();
      }
      if (list.empty()) idle_.erase(it);
    }
    return out;
  }

  void give(const std::string& origin, std::unique_ptr<httplib::ClientImpl> cli) {
    std::lock_guard lk(mu_);
    auto& list = idle_[origin];
    if (list.size() >= max_per_origin_) return;  // closed as cli goes out of scope
    list.push_back(Idle{std::move(cli), time_.monotonic()});
  }

 private:
  struct Idle {
    std::unique_ptr<httplib::ClientImpl> cli;
    MonoTime since;
  };
  const TimeSource& time_;
  const std::chrono::seconds keep_alive_;
  const std::size_t max_per_origin_;
  std::mutex mu_;
  std::map<std::string, std::vector<Idle>> idle_;
};

class HttplibClient final : public HttpClient {
 public:
  explicit HttplibClient(HttpClientOptions opts) : opts_(std::move(opts)) {
    if (opts_.total_timeout.count() > 0) watchdog_ = std::make_unique<Watchdog>(time());
    if (opts_.keep_alive.count() > 0 && opts_.max_idle_per_origin > 0) {
      idle_ = std::make_unique<IdleConnections>(time(), opts_.keep_alive, opts_.max_idle_per_origin);
    }
  }

  HttpClientResponse send(const HttpClientRequest& req) override {
    HttpClientResponse out;
    auto url = parse_url(req.url);
    if (!url) {
      out.error = "bad_url";
      return out;
    }
    if (req.method != "GET" && req.method != "POST" && req.method != "PUT" && req.method != "DELETE") {
      out.error = "bad_method";
      return out;
    }

    const std::string origin = url->scheme + "://" + host_header(*url);
    std::unique_ptr<httplib::ClientImpl> cli = idle_ ? idle_->take(origin) : nullptr;
    const bool reused = cli != nullptr;
    if (!cli) cli = connect(*url, out);
    if (!cli) return out;

    httplib::Request hr;
    hr.method = req.method;
    hr.path = url->target;
    hr.set_header("Host", host_header(*url));
    hr.set_header("User-Agent", opts_.user_agent);
    for (const auto& [name, value] : req.headers) hr.headers.emplace(name, value);
    if (req.method == "POST" || req.method == "PUT") {
      hr.set_header("Content-Type", req.content_type.empty() ? "application/x-www-form-urlencoded" : req.content_type);
      hr.body = req.body;
    }
    bool too_large = false;
    std::string body;
    hr.content_receiver = [&](const char* data, std::size_t n, std::uint64_t, std::uint64_t) {
      if (body.size() + n > kMaxResponseBytes) {
        too_large = true;
        return false;
      }
      body.append(data, n);
      return true;
    };

    httplib::Response hres;
    httplib::Error err = httplib::Error::Success;
    const auto deadline = time().monotonic() + opts_.total_timeout;
    bool cut_off = false;
    bool ok = attempt(*cli, hr, hres, err, deadline, cut_off);
    // A kept connection the server closed as the request went out: the request never reached it
    // whole, so it goes once more on a new connection. (Not after a read error: the server may
    // have acted on the request, and a refresh token must not be sent twice.)
    if (reused && !ok && err == httplib::Error::Write && !cut_off) {
      cli = connect(*url, out);
      if (!cli) return out;
      hres = httplib::Response{};
      body.clear();
      err = httplib::Error::Success;
      ok = attempt(*cli, hr, hres, err, deadline, cut_off);
    }
    // An answer that was complete when the deadline struck is kept: it may carry a rotated
    // refresh token that the platform already counts as given out.
    if (cut_off && !(ok && err == httplib::Error::Success)) {
      out.error = "timeout";
      return out;
    }
    if (too_large) {
      out.error = "too_large";
      return out;
    }
    if (!ok || err != httplib::Error::Success) {
      out.error = error_name(err == httplib::Error::Success ? httplib::Error::Unknown : err);
      return out;
    }
    out.status = hres.status;
    for (const auto& [name, value] : hres.headers) out.headers.emplace_back(name, value);
    out.body = body.empty() ? std::move(hres.body) : std::move(body);
    // cpp-httplib has closed the socket when the server said "Connection: close".
    if (idle_ && !cut_off && cli->is_socket_open()) idle_->give(origin, std::move(cli));
    return out;
  }

 private:
  // A client for a new connection to `url`'s origin; null with out.error set when the outbound
  // guard refuses it or its host does not resolve.
  std::unique_ptr<httplib::ClientImpl> connect(const ParsedUrl& url, HttpClientResponse& out) const {
    std::string pinned;
    if (opts_.outbound != nullptr) {
      const auto check = opts_.outbound->check(url.scheme, url.host);
      if (check.verdict == OutboundGuard::Verdict::unresolved) {
        out.error = "connection";  // what cpp-httplib says of a name it cannot resolve
        out.error_detail = check.message;
        return nullptr;
      }
      if (check.verdict == OutboundGuard::Verdict::refused) {
        out.error = kAddressNotAllowed;
        out.error_detail = check.message;
        return nullptr;
      }
      pinned = util::to_string(check.connect_to);
    }
    std::unique_ptr<httplib::ClientImpl> cli;
    if (url.scheme == "https") {
      auto ssl = std::make_unique<httplib::SSLClient>(url.host, url.port);
      ssl->enable_server_certificate_verification(opts_.verify_tls);
      if (!opts_.ca_file.empty()) ssl->set_ca_cert_path(opts_.ca_file);
      cli = std::move(ssl);
    } else {
      cli = std::make_unique<httplib::ClientImpl>(url.host, url.port);
    }
    cli->set_connection_timeout(opts_.connect_timeout);
    cli->set_read_timeout(opts_.read_timeout);
    cli->set_write_timeout(opts_.read_timeout);
    // A token endpoint that redirects is misconfigured; following it could send the secret elsewhere.
    cli->set_follow_location(false);
    cli->set_keep_alive(idle_ != nullptr);
    // cpp-httplib writes a request's head and body in two sends. Under Nagle's algorithm the body
    // then waits for the ACK of the head, which the server delays (it has nothing to answer yet):
    // up to 40 ms more for every POST on a kept-alive connection, a token refresh included.
    cli->set_tcp_nodelay(true);
    // The address checked is the one connected to, on this connection and on any reconnection of
    // this client: cpp-httplib looks the host up in this map instead of resolving it again.
    if (!pinned.empty()) cli->set_hostname_addr_map({{url.host, pinned}});
    return cli;
  }

  // One send under the whole-call deadline; cut_off: the watchdog stopped it.
  bool attempt(httplib::ClientImpl& cli, httplib::Request& hr, httplib::Response& hres, httplib::Error& err,
               MonoTime deadline, bool& cut_off) {
    std::uint64_t watch_id = 0;
    if (watchdog_) watch_id = watchdog_->watch(&cli, deadline);
    const bool ok = cli.send(hr, hres, err);
    cut_off = watchdog_ && watchdog_->unwatch(watch_id);
    return ok;
  }

  static std::string host_header(const ParsedUrl& u) {
    std::string h = u.host.find(':') != std::string::npos ? "[" + u.host + "]" : u.host;
    bool default_port = (u.scheme == "https" && u.port == 443) || (u.scheme == "http" && u.port == 80);
    if (!default_port) h += ":" + std::to_string(u.port);
    return h;
  }

  HttpClientOptions opts_;
  const TimeSource& time() const { return opts_.time != nullptr ? *opts_.time : real_time(); }
  std::unique_ptr<Watchdog> watchdog_;     // when total_timeout is set
  std::unique_ptr<IdleConnections> idle_;  // when keep_alive is set
};

}  // namespace

std::string HttpClientResponse::header(const std::string& name) const {
  for (const auto& [k, v] : headers) {
    if (util::iequals(k, name)) return v;
  }
  return "";
}

bool HttpClientResponse::address_refused() const { return status == 0 && error == kAddressNotAllowed; }

std::unique_ptr<HttpClient> make_http_client(const HttpClientOptions& opts) {
  return std::make_unique<HttplibClient>(opts);
}

}  // namespace mediax
