// Douyin's spec and renewal parsers: every OAuth endpoint's answer ({"data": {...}} with error_code), app options and
// the renewal count kept in grants.extra. Input: a response body (also read as options / extra).
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_check.hpp"
#include "platforms/douyin_renewal.hpp"
#include "platforms/platform_util.hpp"
#include "platforms/spec_platform.hpp"
#include "platforms/specs.hpp"

using namespace mediax;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string body(reinterpret_cast<const char*>(data), size);
  const auto now = fuzz::fuzz_now();
  for (const auto& r : fuzz::responses_for(body)) {
    for (auto flow : {spec::Call::exchange_code, spec::Call::refresh, spec::Call::renew, spec::Call::client_token}) {
      const auto o = spec::read_answer(specs::douyin(), flow, *specs::douyin().request(flow), r, now, fuzz::secrets());
      fuzz::check_outcome(o);
      if (o.ok() && flow == spec::Call::renew && !o.token.refresh_token) {
        fuzz::fail("a renewal succeeded without a refresh token");
      }
      if (o.ok() && flow != spec::Call::renew && o.token.access_token.empty()) {
        fuzz::fail("success without an access token");
      }
    }
  }
  if (auto j = platform_util::parse_object(body)) {
    douyin::Options options;
    if (auto err = douyin::parse_options(*j, options)) {
      fuzz::check_storable(*err, "options error");
    } else if (options.max_renewals < 0 || options.renew_before.count() <= 0) {
      fuzz::fail("options accepted out of range");
    }
    Grant g;
    g.extra = *j;
    g.refresh_expires_at = now + Seconds(3600);
    const auto rt = douyin::refresh_token_state(g);
    if (rt.renewals < 0 || rt.renewals > 1000) fuzz::fail("renewals out of range");
    if (rt.lifetime.count() <= 0) fuzz::fail("refresh token lifetime not positive");
    const auto next = douyin::follow_up(rt, douyin::Options{}, true, now);
    if (next.call_again_by && *next.call_again_by < now) fuzz::fail("called back in the past");
  }
  return 0;
}
