#include "service/platform_call_errors.hpp"

namespace mediax {

namespace {

nlohmann::json details_of(const Outcome& o) {
  nlohmann::json d = {{"platform_code", o.code}, {"class", to_string(o.kind)}};
  if (o.retry_after) d["retry_after_seconds"] = o.retry_after->count();
  return d;
}

std::string said(const Outcome& o, const std::string& platform) {
  return platform + " answered " + (o.code.empty() ? "an error" : o.code) +
         (o.message.empty() ? "" : " (" + o.message + ")");
}

// retry_later and rate_limited: nothing is wrong with the request; the platform cannot serve it now.
ApiError unavailable(const Outcome& o, const std::string& platform, const std::string& app_name,
                     bool waiting_for_ticket) {
  if (waiting_for_ticket || o.code == kWaitingForTicket) {
    // The component token needs a ticket, which only WeChat's push brings: retrying sooner is useless.
    return ApiError(503, kWaitingForTicket,
                    "WeChat has not pushed a component_verify_ticket yet; it pushes one every 10 minutes to the "
                    "platform's 授权事件接收URL ({admin.public_url}/wechat/component/" +
                        app_name +
                        "/events) once the third-party platform is approved: check that URL, the message token "
                        "and the EncodingAESKey on the WeChat open platform, then try again",
                    details_of(o));
  }
  return ApiError(503, "platform_unavailable",
                  "the platform cannot answer now: " + said(o, platform) + "; try again later", details_of(o));
}

}  // namespace

ApiError prepare_authorize_error(const Outcome& o, const std::string& platform, const std::string& app_name,
                                 bool waiting_for_ticket) {
  switch (o.kind) {
    case OutcomeKind::retry_later:
    case OutcomeKind::rate_limited: return unavailable(o, platform, app_name, waiting_for_ticket);
    case OutcomeKind::app_misconfigured:
      return ApiError(422, "app_misconfigured",
                      "the platform refused the app: " + said(o, platform) +
                          "; fix the app's registration at the platform",
                      details_of(o));
    case OutcomeKind::needs_reauth:
    case OutcomeKind::success: break;
  }
  return ApiError(502, "platform_error",
                  "the platform failed to start the authorization: " + said(o, platform) + "; try again",
                  details_of(o));
}

ApiError recover_grant_error(const Outcome& o, const std::string& platform, const std::string& app_name,
                             std::int64_t grant_id, bool waiting_for_ticket) {
  const std::string grant = "grant " + std::to_string(grant_id);
  switch (o.kind) {
    case OutcomeKind::retry_later:
    case OutcomeKind::rate_limited: return unavailable(o, platform, app_name, waiting_for_ticket);
    case OutcomeKind::app_misconfigured:
      if (o.code == "not_supported") {
        return ApiError(409, "not_supported", o.message.empty() ? grant + " cannot be recovered" : o.message,
                        details_of(o));
      }
      return ApiError(422, "app_misconfigured",
                      "the platform refused the app: " + said(o, platform) + "; " + grant + " is unchanged",
                      details_of(o));
    case OutcomeKind::needs_reauth:
      return ApiError(422, "recovery_refused",
                      "the platform refused to recover " + grant + ": " + said(o, platform) +
                          "; the account's owner must connect it again",
                      details_of(o));
    case OutcomeKind::success: break;
  }
  return ApiError(502, "platform_error", "the platform failed: " + said(o, platform) + "; " + grant + " is unchanged",
                  details_of(o));
}

}  // namespace mediax
