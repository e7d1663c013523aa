/// Twilio's REST message resource (docs/vendors.md#twilio-message-resource): path, Basic credentials, and the
/// JSON answer mapped through the status-callback mapping so that webhook and poll agree.

#include "adapters/twilio/poll.hpp"

#include <array>
#include <cstdio>

#include <nlohmann/json.hpp>
#include <openssl/evp.h>

#include "adapters/json_guard.hpp"
#include "adapters/url.hpp"
#include "core/reconcile.hpp"

namespace deliveryd::adapters::twilio {

namespace {

using json = nlohmann::json;

/// Standard base64 with padding.
std::string base64(std::string_view data) {
  std::string encoded(4 * ((data.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(encoded.data()),
                                reinterpret_cast<const unsigned char*>(data.data()), static_cast<int>(data.size()));
  encoded.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
  return encoded;
}

/// Reads 1 to `max` ASCII digits making up the whole of `text`.
std::optional<int> read_number(std::string_view text, std::size_t max) noexcept {
  if (text.empty() || text.size() > max)
    return std::nullopt;
  int value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9')
      return std::nullopt;
    value = value * 10 + (c - '0');
  }
  return value;
}

/// 1-12 for an English month abbreviation (any case), else nullopt.
std::optional<int> month_of(std::string_view name) noexcept {
  constexpr std::array<std::string_view, 12> months{"jan", "feb", "mar", "apr", "may", "jun",
                                                    "jul", "aug", "sep", "oct", "nov", "dec"};
  if (name.size() != 3)
    return std::nullopt;
  std::array<char, 3> lower{};
  for (std::size_t i = 0; i < 3; ++i)
    lower[i] = static_cast<char>(name[i] >= 'A' && name[i] <= 'Z' ? name[i] - 'A' + 'a' : name[i]);
  for (std::size_t i = 0; i < months.size(); ++i)
    if (months[i] == std::string_view{lower.data(), lower.size()})
      return static_cast<int>(i) + 1;
  return std::nullopt;
}

/// The offset in minutes of an RFC 2822 zone: +hhmm, -hhmm, GMT, UT, UTC, Z.
std::optional<int> zone_minutes(std::string_view zone) noexcept {
  if (zone == "GMT" || zone == "UT" || zone == "UTC" || zone == "Z")
    return 0;
  if (zone.size() != 5 || (zone[0] != '+' && zone[0] != '-'))
    return std::nullopt;
  const auto hh = read_number(zone.substr(1, 2), 2);
  const auto mm = read_number(zone.substr(3, 2), 2);
  if (!hh || !mm || *hh > 23 || *mm > 59)
    return std::nullopt;
  return (zone[0] == '-' ? -1 : 1) * (*hh * 60 + *mm);
}

/// Splits at runs of spaces; at most `N` tokens, nullopt when there are more.
template <std::size_t N>
std::optional<std::array<std::string_view, N>> split(std::string_view text, std::size_t& count) noexcept {
  std::array<std::string_view, N> tokens{};
  count = 0;
  while (!text.empty()) {
    const auto start = text.find_first_not_of(' ');
    if (start == std::string_view::npos)
      break;
    text.remove_prefix(start);
    const auto end = text.find(' ');
    if (count == N)
      return std::nullopt;
    tokens[count++] = text.substr(0, end);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end);
  }
  return tokens;
}

/// ErrorCode text of the resource's error_code: an integer's digits, a string as it is, "" for null.
std::optional<std::string> error_code_of(const json& doc) {
  const auto it = doc.find("error_code");
  if (it == doc.end() || it->is_null())
    return std::string{};
  if (it->is_number_integer())
    return it->dump();
  if (it->is_string())
    return it->get<std::string>();
  return std::nullopt;
}

/// A string field, nullopt when absent, null or not a string.
std::optional<std::string> string_field(const json& doc, const char* name) {
  const auto it = doc.find(name);
  if (it == doc.end() || !it->is_string())
    return std::nullopt;
  return it->get<std::string>();
}

/// A sentence about a status the callback parser refused, worded for the message resource.
std::string describe_for_poll(parse_error e) {
  switch (e) {
    case parse_error::missing_message_sid:
      return "the message resource has no sid";
    case parse_error::missing_message_status:
      return "the message resource has no status";
    case parse_error::unknown_status:
      return "the message resource's status is not a status Twilio documents";
    case parse_error::control_characters:
      return "the message resource's sid or error_code holds control characters";
  }
  return "the message resource could not be used";
}

} // namespace

std::string message_path(std::string_view account_sid, std::string_view sid) {
  return "/2010-04-01/Accounts/" + encode_path_segment(account_sid) + "/Messages/" + encode_path_segment(sid) +
         ".json";
}

std::string basic_auth(std::string_view account_sid, std::string_view auth_token) {
  std::string credentials;
  credentials.reserve(account_sid.size() + 1 + auth_token.size());
  credentials.append(account_sid).append(":").append(auth_token);
  return "Basic " + base64(credentials);
}

std::optional<core::timestamp> parse_rfc2822(std::string_view text) noexcept {
  if (const auto comma = text.find(','); comma != std::string_view::npos) {
    constexpr std::array<std::string_view, 7> weekdays{"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
    const auto weekday = text.substr(0, comma);
    bool known = false;
    for (const auto w : weekdays)
      known = known || weekday == w;
    if (!known)
      return std::nullopt;
    text.remove_prefix(comma + 1);
  }
  std::size_t count = 0;
  const auto tokens = split<5>(text, count);
  if (!tokens || count != 5)
    return std::nullopt;
  const auto& t = *tokens;
  const auto day = read_number(t[0], 2);
  const auto month = month_of(t[1]);
  const auto year = t[2].size() == 4 ? read_number(t[2], 4) : std::nullopt;
  const auto offset = zone_minutes(t[4]);
  const auto clock = t[3];
  if (!day || !month || !year || !offset || (clock.size() != 5 && clock.size() != 8) || clock[2] != ':' ||
      (clock.size() == 8 && clock[5] != ':'))
    return std::nullopt;
  const auto hh = read_number(clock.substr(0, 2), 2);
  const auto mi = read_number(clock.substr(3, 2), 2);
  const auto ss = clock.size() == 8 ? read_number(clock.substr(6, 2), 2) : std::optional<int>{0};
  if (!hh || !mi || !ss)
    return std::nullopt;
  // RFC 3339 text is checked (calendar, ranges) by the one parser the daemon already trusts.
  const int off = *offset < 0 ? -*offset : *offset;
  std::array<char, 64> buffer{};
  std::snprintf(buffer.data(), buffer.size(), "%04d-%02d-%02dT%02d:%02d:%02d%c%02d:%02d", *year, *month, *day,
                *hh, *mi, *ss, *offset < 0 ? '-' : '+', off / 60, off % 60);
  return core::parse_rfc3339(buffer.data());
}

std::variant<message_result, bad_message> parse_message(std::string_view body, core::timestamp received_at) {
  if (auto problem = find_json_text_problem(body)) // the body is stored as `raw`: never past a NUL, always UTF-8
    return bad_message{describe(*problem, "the message resource")};
  const json doc = json::parse(body, nullptr, false);
  if (doc.is_discarded())
    return bad_message{"the message resource is not JSON"};
  if (!doc.is_object())
    return bad_message{"the message resource is not a JSON object"};
  const auto error_code = error_code_of(doc);
  if (!error_code)
    return bad_message{"the message resource's error_code is neither an integer, a string nor null"};

  form_params params{{"MessageSid", string_field(doc, "sid").value_or("")},
                     {"MessageStatus", string_field(doc, "status").value_or("")}};
  if (!error_code->empty())
    params.emplace_back("ErrorCode", *error_code);
  if (auto account = string_field(doc, "account_sid"))
    params.emplace_back("AccountSid", std::move(*account));
  auto parsed = parse_callback(std::move(params));
  if (const auto* e = std::get_if<parse_error>(&parsed))
    return bad_message{describe_for_poll(*e)};
  const auto& cb = std::get<status_callback>(parsed);

  message_result out;
  out.price = string_field(doc, "price");
  out.price_unit = string_field(doc, "price_unit");
  out.error_message = string_field(doc, "error_message").value_or("");
  // The vendor time stays unknown, as for a callback: date_updated is when the resource last changed (a price
  // set later moves it), not when the status happened, and a poll and a callback of one status must be the
  // same event whichever is stored first (they share a dedupe key).
  auto [what, event] = map_callback(cb, received_at);
  event.source = core::event_source::poll;
  event.dedupe_key = cb.message_sid + "|" + cb.message_status; // the webhook's key: one event, either way
  if (event.outcome == core::status::failed && error_text(cb.error_code).empty() && !out.error_message.empty())
    event.reason = core::reason_for(event.outcome, event.code, out.error_message, event.cat);
  out.what = what;
  out.result.vendor_message_id = cb.message_sid;
  out.result.event = std::move(event);
  out.result.raw = std::string{body};
  return out;
}

} // namespace deliveryd::adapters::twilio
