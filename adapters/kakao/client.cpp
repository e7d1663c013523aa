#include "adapters/kakao/client.hpp"

#include "adapters/http_get.hpp"
#include "adapters/kakao/kakao.hpp"

namespace deliveryd::adapters::kakao {

namespace {

/// The path part of api_base ("https://host/prefix" -> "/prefix"), signed along with the resource path.
std::string base_path(const std::string& api_base) {
  auto scheme = api_base.find("://");
  auto slash = api_base.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  return slash == std::string::npos ? std::string{} : api_base.substr(slash);
}

std::string origin(const std::string& api_base) {
  auto scheme = api_base.find("://");
  auto slash = api_base.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  return slash == std::string::npos ? api_base : api_base.substr(0, slash);
}

} // namespace

fetch_result fetch_result_of(const client_config& cfg, const std::string& message_id, core::timestamp now) {
  const auto path = base_path(cfg.api_base) + result_path(cfg.service_id, message_id);
  const auto sig = sign_request("GET", path, now, cfg.access_key, cfg.secret_key);
  auto answer = http_get(origin(cfg.api_base), path,
                         {{"x-ncp-apigw-timestamp", sig.timestamp},
                          {"x-ncp-iam-access-key", sig.access_key},
                          {"x-ncp-apigw-signature-v2", sig.signature},
                          {"Accept", "application/json"}});
  if (auto failed = failed_fetch(answer))
    return *failed;
  fetch_result out;
  auto parsed = parse_poll_response(answer.body, cfg.zone, now);
  if (auto* bad = std::get_if<bad_body>(&parsed)) {
    out.detail = bad->detail;
    return out;
  }
  auto& result = std::get<poll_result>(parsed);
  const auto status = result.result.event.outcome;
  out.outcome = result.is_final                      ? core::poll_outcome::final_result
                : status == core::status::uncertain ? core::poll_outcome::uncertain
                                                    : core::poll_outcome::pending;
  // The dealer may answer for another id than asked (it should not): address the event by what was asked.
  result.result.vendor_message_id = message_id;
  out.event = std::move(result.result);
  return out;
}

} // namespace deliveryd::adapters::kakao
