// Google's parsers: token answers (with Google's error codes), app options, and the service-account
// key file checked by prepare(). Input: a response body (also read as options / a key file).
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_check.hpp"
#include "platforms/google_platform.hpp"

using namespace mediax;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string body(reinterpret_cast<const char*>(data), size);
  const auto now = fuzz::fuzz_now();
  for (const auto& r : fuzz::responses_for(body)) {
    for (auto flow :
         {oauth2::Flow::authorization_code, oauth2::Flow::refresh_token, oauth2::Flow::client_credentials}) {
      fuzz::check_outcome(google::parse_token_response(r, flow, now, fuzz::secrets()));
    }
  }
  auto j = platform_util::parse_object(body);
  if (!j) return 0;
  google::Options options;
  if (auto err = google::parse_options(*j, options)) fuzz::check_storable(*err, "options error");
  google::ServiceAccountKey key;
  if (auto err = google::parse_service_account_key(*j, key)) {
    fuzz::check_storable(*err, "key error");
    if (auto pk = j->find("private_key"); pk != j->end() && pk->is_string() && pk->get<std::string>().size() >= 16 &&
                                          err->find(pk->get<std::string>()) != std::string::npos) {
      fuzz::fail("the key error quotes the private key");
    }
  }
  // As registered: the body is the app's options (a service_account key inside, or not).
  App app;
  app.name = "g";
  app.platform = "google";
  app.client_id = "id";
  app.client_secret = fuzz::secrets()[0];
  app.scopes = {"https://www.googleapis.com/auth/cloud-platform"};
  app.options = *j;
  const AppCheck check = google::prepare(app);
  fuzz::check_storable(check.message, "AppCheck::message");
  fuzz::check_no_secret(check.message, "AppCheck::message");
  if (check.ok) fuzz::check_storable(app.options, "prepared options");
  return 0;
}
