// A scripted HttpClient for unit tests: records every request and answers from a queue.
// An empty queue answers with a transport error, so a test that sends more than it scripted fails loudly.
#pragma once

#include <deque>
#include <string>
#include <utility>
#include <vector>

#include "net/http_client.hpp"

namespace mediax::testing {

class FakeHttpClient : public HttpClient {
 public:
  ClientResponse send(const ClientRequest& req) override {
    requests.push_back(req);
    if (responses_.empty()) {
      ClientResponse r;
      r.error = "no_scripted_response";
      return r;
    }
    ClientResponse r = std::move(responses_.front());
    responses_.pop_front();
    return r;
  }

  // Queues an HTTP answer.
  FakeHttpClient& respond(int status, std::string body, HeaderList headers = {}) {
    ClientResponse r;
    r.status = status;
    r.body = std::move(body);
    r.headers = std::move(headers);
    responses_.push_back(std::move(r));
    return *this;
  }
  // Queues a transport failure ("timeout", "connection", "tls", ...).
  FakeHttpClient& fail(std::string error) {
    ClientResponse r;
    r.error = std::move(error);
    responses_.push_back(std::move(r));
    return *this;
  }

  std::size_t pending() const { return responses_.size(); }

  std::vector<ClientRequest> requests;

 private:
  std::deque<ClientResponse> responses_;
};

}  // namespace mediax::testing
