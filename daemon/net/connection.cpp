#include "net/connection.hpp"

#include <poll.h>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/system/error_code.hpp>

namespace mediax::net {

Connection::Connection(boost::asio::io_context& io) { plain_.emplace(io); }

Connection::Connection(boost::asio::io_context& io, boost::asio::ssl::context& tls, const std::string& host,
                       bool verify) {
  tls_.emplace(io, tls);
  boost::system::error_code not_an_address;
  boost::asio::ip::make_address(host, not_an_address);
  if (not_an_address) SSL_set_tlsext_host_name(tls_->native_handle(), host.c_str());
  if (verify) {
    tls_->set_verify_mode(boost::asio::ssl::verify_peer);
    tls_->set_verify_callback(boost::asio::ssl::host_name_verification(host));
  } else {
    tls_->set_verify_mode(boost::asio::ssl::verify_none);
  }
}

bool Connection::fit_for_reuse() {
  if (!socket().is_open()) return false;
  pollfd p{socket().native_handle(), POLLIN, 0};
  return ::poll(&p, 1, 0) == 0;
}

void Connection::close() {
  boost::system::error_code ignored;
  socket().close(ignored);
}

}  // namespace mediax::net
