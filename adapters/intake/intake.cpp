/// Intake of the sending pipeline's sends: the body is parsed once, then every item is checked on its own and
/// either becomes a normalised send_request or a rejection naming the field.

#include "adapters/intake/intake.hpp"
#include "core/text.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <new>
#include <span>
#include <utility>

#include <nlohmann/json.hpp>
#include <phonenumbers/phonenumber.pb.h>
#include <phonenumbers/phonenumberutil.h>

#include "adapters/json_guard.hpp"
#include "core/codes.hpp"

namespace deliveryd::adapters::intake {
namespace {

using json = nlohmann::json;

/// Longest send_id and fallback_of, in characters.
constexpr std::size_t max_id_chars = 128;
/// Longest vendor_message_id, in characters.
constexpr std::size_t max_vendor_id_chars = 256;
/// No length limit beyond the body's.
constexpr std::size_t unlimited = SIZE_MAX;

/// Decodes the code point at `i` and advances past it; false on ill-formed UTF-8 (overlong, surrogate, > U+10FFFF).
bool next_code_point(std::string_view text, std::size_t& i, char32_t& out) {
  auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  unsigned char lead = byte(i);
  std::size_t length = lead < 0x80 ? 1 : (lead >> 5) == 0x6 ? 2 : (lead >> 4) == 0xE ? 3 : (lead >> 3) == 0x1E ? 4 : 0;
  if (length == 0 || i + length > text.size())
    return false;
  char32_t value = length == 1 ? lead : lead & (0x7F >> length);
  for (std::size_t k = 1; k < length; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80)
      return false;
    value = (value << 6) | (byte(i + k) & 0x3F);
  }
  constexpr char32_t smallest[] = {0, 0, 0x80, 0x800, 0x10000};
  if (value < smallest[length] || value > 0x10FFFF || (value >= 0xD800 && value <= 0xDFFF))
    return false;
  i += length;
  out = value;
  return true;
}

/// The number of characters of `text` when it is valid UTF-8 without control characters (C0, DEL, C1, so no
/// NUL); nullopt otherwise.
std::optional<std::size_t> printable_length(std::string_view text) {
  std::size_t count = 0;
  for (std::size_t i = 0; i < text.size(); ++count) {
    char32_t c = 0;
    if (!next_code_point(text, i, c) || c < 0x20 || (c >= 0x7F && c <= 0x9F))
      return std::nullopt;
  }
  return count;
}

using core::trim;

/// Reads the fields of one item. The first problem wins and becomes the item's rejection.
class item_reader {
public:
  item_reader(const json& item, std::size_t index) : item_{item} { error_.index = index; }

  /// The field, or nullptr when it is absent or null (the same thing at intake).
  const json* field(const char* name) const {
    auto it = item_.find(name);
    return it == item_.end() || it->is_null() ? nullptr : &*it;
  }

  /// A string field of 1..max_chars printable characters (0 allowed when `may_be_empty`); nullopt when absent
  /// (a rejection "missing_field" when `required`) or rejected.
  std::optional<std::string> text(const char* name, bool required, std::size_t max_chars = unlimited,
                                  bool may_be_empty = false) {
    auto node = failed_ ? nullptr : field(name);
    if (node == nullptr) {
      if (required)
        reject("missing_field", std::string{name} + " is required");
      return std::nullopt;
    }
    if (!node->is_string()) {
      reject("invalid", std::string{name} + " must be a string");
      return std::nullopt;
    }
    const auto& value = node->get_ref<const std::string&>();
    auto length = printable_length(value);
    if (!length)
      reject("invalid", std::string{name} + " must be valid UTF-8 without control characters");
    else if (*length == 0 && !may_be_empty)
      reject("invalid", std::string{name} + " must not be empty");
    else if (*length > max_chars)
      reject("invalid", std::string{name} + " must be at most " + std::to_string(max_chars) + " characters");
    if (failed_)
      return std::nullopt;
    return value;
  }

  /// Records the send_id so that later rejections carry it.
  void set_send_id(const std::string& send_id) { error_.send_id = send_id; }

  /// Rejects the item unless it is already rejected.
  void reject(std::string_view word, std::string detail) {
    if (failed_)
      return;
    failed_ = true;
    error_.error = word;
    error_.detail = std::move(detail);
  }

  /// True once the item is rejected.
  bool failed() const { return failed_; }

  /// The rejection (meaningful once failed()).
  rejection take_rejection() { return std::move(error_); }

private:
  const json& item_;
  rejection error_;
  bool failed_ = false;
};

/// Reads a required contract word with `parse`; nullopt (and a rejection) when absent or not a word of `words`.
template <class Parse>
auto read_word(item_reader& r, const char* name, bool required, Parse parse, std::string_view words)
  -> decltype(parse(std::string_view{})) {
  auto text = r.text(name, required);
  if (!text)
    return std::nullopt;
  auto word = parse(*text);
  if (!word)
    r.reject("invalid", std::string{name} + " must be one of " + std::string{words});
  return word;
}

/// `excluded`: an integer or a string of digits, 10000-11999.
std::optional<int> read_excluded(item_reader& r) {
  auto node = r.failed() ? nullptr : r.field("excluded");
  if (node == nullptr)
    return std::nullopt;
  std::optional<int> code;
  if (node->is_number_unsigned()) {
    if (auto value = node->get<std::uint64_t>(); value >= 10000 && value <= 11999)
      code = static_cast<int>(value);
  } else if (node->is_string()) {
    const auto& digits = node->get_ref<const std::string&>();
    if (digits.size() == 5 && digits.find_first_not_of("0123456789") == std::string::npos)
      code = core::parse_exclusion_code(digits);
  }
  // Negative integers, floats and booleans are never a code.
  if (code && !core::is_exclusion_code(*code))
    code.reset();
  if (!code)
    r.reject("invalid", "excluded must be an internal code 10000-11999 (an integer or a string of digits)");
  return code;
}

/// `source_id` (required for campaign and one_time) and `source_name`.
void read_source(item_reader& r, send_request& out) {
  bool marketing = out.type == core::send_type::campaign || out.type == core::send_type::one_time;
  if (auto id = r.text("source_id", false, unlimited, !marketing))
    out.source_id = std::move(*id);
  else if (marketing && !r.failed())
    r.reject("missing_field", "source_id is required for type " + std::string{core::to_string(out.type)});
  if (auto name = r.text("source_name", false, unlimited, true))
    out.source_name = std::move(*name);
}

/// `contact`, normalised for the medium.
void read_contact(item_reader& r, send_request& out, std::string_view region) {
  if (r.failed())
    return;
  auto node = r.field("contact");
  if (node == nullptr)
    return r.reject("missing_field", "contact is required");
  if (!node->is_string())
    return r.reject("invalid", "contact must be a string");
  auto contact = normalize_contact(out.medium, node->get_ref<const std::string&>(), region);
  if (!contact && out.medium == core::medium::email)
    return r.reject("bad_contact", "contact is not an e-mail address (local part, '@', dotted domain)");
  if (!contact)
    return r.reject("bad_contact", "contact is not a phone number (numbers without '+' are read in region "
                                     + std::string{region} + ")");
  out.contact = std::move(*contact);
}

/// `requested_at`: RFC 3339 with an offset.
void read_requested_at(item_reader& r, send_request& out) {
  auto text = r.text("requested_at", true);
  if (!text)
    return;
  if (auto at = core::parse_rfc3339(*text))
    out.requested_at = *at;
  else
    r.reject("invalid", "requested_at must be RFC 3339 with an offset, such as 2026-11-27T10:00:00+09:00");
}

/// `fallback_of`: the Alimtalk send this sms/lms send is a failover leg of.
void read_fallback_of(item_reader& r, send_request& out) {
  auto of = r.text("fallback_of", false, max_id_chars);
  if (!of)
    return;
  if (out.medium != core::medium::sms && out.medium != core::medium::lms)
    return r.reject("invalid", "fallback_of is only allowed for medium sms or lms");
  if (*of == out.send_id)
    return r.reject("invalid", "fallback_of must name another send, not the send itself");
  out.fallback_of = std::move(*of);
}

/// Checks of a well-formed item against the daemon: the vendor is enabled, the send is inside retention.
void check_against_daemon(item_reader& r, const send_request& out, const intake_context& ctx) {
  if (out.vendor) {
    bool enabled = false;
    for (auto v : ctx.enabled)
      enabled = enabled || v == *out.vendor;
    if (!enabled)
      return r.reject("vendor_disabled", "vendor " + std::string{core::to_string(*out.vendor)}
                                           + " is not enabled in this daemon's configuration");
  }
  if (out.requested_at < ctx.now - std::chrono::days{ctx.retention_days})
    r.reject("too_old", "requested_at is older than the retention window of " + std::to_string(ctx.retention_days)
                          + " days");
}

/// One item of the body: a send or its rejection.
std::variant<send_request, rejection> read_item(const json& item, std::size_t index, const intake_context& ctx) {
  item_reader r{item, index};
  send_request out;
  out.index = index;
  if (!item.is_object()) {
    r.reject("invalid", "item " + std::to_string(index) + " is not a JSON object");
    return r.take_rejection();
  }
  if (auto id = r.text("send_id", true, max_id_chars)) {
    out.send_id = std::move(*id);
    r.set_send_id(out.send_id);
  }
  if (auto type = read_word(r, "type", true, core::parse_send_type, "campaign, one_time, follow_up, workflow"))
    out.type = *type;
  read_source(r, out);
  if (auto medium = read_word(r, "medium", true, core::parse_medium, "sms, lms, email, alimtalk"))
    out.medium = *medium;
  out.excluded = read_excluded(r);
  out.vendor = read_word(r, "vendor", false, core::parse_vendor, "twilio, carrier, kakao, email");
  if (!out.vendor && !out.excluded && !r.failed())
    r.reject("missing_field", "vendor is required unless excluded is set");
  read_contact(r, out, ctx.default_region);
  read_requested_at(r, out);
  out.vendor_message_id = r.text("vendor_message_id", false, max_vendor_id_chars);
  read_fallback_of(r, out);
  if (!r.failed())
    check_against_daemon(r, out, ctx);
  if (r.failed())
    return r.take_rejection();
  return out;
}

/// Parses one JSON text; nullopt with the 1-based byte of the error in `error_byte`.
std::optional<json> parse_json(std::string_view text, std::size_t& error_byte) {
  try {
    return json::parse(text);
  } catch (const json::parse_error& e) {
    error_byte = e.byte;
  } catch (const json::exception&) {
    error_byte = 0;  // e.g. a number out of range: no position
  }
  return std::nullopt;
}

/// The 413 answer.
body_error too_many(std::size_t count, std::size_t limit) {
  return body_error{413, "too_many_items",
                    "the body holds " + std::to_string(count) + " sends; at most " + std::to_string(limit)
                      + " are accepted per request"};
}

/// " at byte N" when the position is known.
std::string at_byte(std::size_t byte) { return byte == 0 ? std::string{} : " at byte " + std::to_string(byte); }

/// The items of a JSON array body.
std::variant<json, body_error> parse_array(std::string_view body, std::size_t max_items) {
  if (auto problem = find_json_text_problem(body))
    return body_error{400, "malformed", describe(*problem, "the body")};
  std::size_t byte = 0;
  auto items = parse_json(body, byte);
  if (!items)
    return body_error{400, "malformed", "the body is not valid JSON (error" + at_byte(byte) + ")"};
  if (!items->is_array())
    return body_error{400, "malformed", "the body must be a JSON array of sends"};
  if (items->size() > max_items)
    return too_many(items->size(), max_items);
  return std::move(*items);
}

/// The items of an NDJSON body: one JSON value per non-blank line.
std::variant<json, body_error> parse_ndjson(std::string_view body, std::size_t max_items) {
  std::vector<std::pair<std::size_t, std::string_view>> lines;  // line number, text
  std::size_t number = 0;
  for (std::size_t start = 0; start <= body.size();) {
    auto end = body.find('\n', start);
    if (end == std::string_view::npos)
      end = body.size();
    ++number;
    if (auto line = trim(body.substr(start, end - start)); !line.empty())
      lines.emplace_back(number, line);
    start = end + 1;
  }
  if (lines.size() > max_items)
    return too_many(lines.size(), max_items);
  auto items = json::array();
  for (auto [line_number, line] : lines) {
    // Line by line: a string left open on one line must not hide the next line's nesting from the check.
    if (auto problem = find_json_text_problem(line))
      return body_error{400, "malformed", describe(*problem, "line " + std::to_string(line_number))};
    std::size_t byte = 0;
    auto item = parse_json(line, byte);
    if (!item)
      return body_error{400, "malformed",
                        "line " + std::to_string(line_number) + " is not valid JSON (error" + at_byte(byte) + ")"};
    items.push_back(std::move(*item));
  }
  return items;
}

} // namespace

std::variant<parsed_batch, body_error> parse_body(std::string_view body, bool ndjson, const intake_context& ctx) {
  try {
    auto items = ndjson ? parse_ndjson(body, ctx.max_items) : parse_array(body, ctx.max_items);
    if (auto error = std::get_if<body_error>(&items))
      return std::move(*error);
    parsed_batch batch;
    const auto& array = std::get<json>(items);
    for (std::size_t i = 0; i < array.size(); ++i) {
      auto result = read_item(array[i], i, ctx);
      if (auto send = std::get_if<send_request>(&result))
        batch.sends.push_back(std::move(*send));
      else
        batch.rejected.push_back(std::get<rejection>(std::move(result)));
    }
    return batch;
  } catch (const std::bad_alloc&) {
    return body_error{503, "overloaded", "the daemon ran out of memory reading the body; retry with a smaller one"};
  }
}

namespace {

/// The calling codes whose numbers may skip libphonenumber when written canonically. For these, libphonenumber's
/// only rewrite of "+<code><national>" is dropping a national (trunk) prefix at the start of <national>, which
/// canonical_e164 leaves to it. Others rewrite more (Mexico's 1 after 52, Brazil's carrier codes, China's 1xxx
/// prefixes, Luxembourg's 15…): those always go through libphonenumber. intake_test checks every code here
/// against libphonenumber, for every three leading digits of national numbers of several lengths.
constexpr int fast_calling_codes[] = {1,   7,   20,  27,  30,  31,  32,  33,  34,  36,  39,  40,  41,  43,  44,
                                      45,  46,  47,  48,  49,  51,  54,  56,  57,  60,  61,  62,  63,  64,  65,
                                      66,  81,  82,  84,  90,  91,  92,  351, 353, 358, 420, 852, 853, 855, 880,
                                      886, 966, 971, 972};

/// For each calling code above, the national prefix of its main region ("0" for 82, "1" for the NANP, "" when
/// there is none), as libphonenumber's metadata has it.
class calling_codes {
public:
  calling_codes() {
    using i18n::phonenumbers::PhoneNumberUtil;
    const auto* util = PhoneNumberUtil::GetInstance();
    for (int code : fast_calling_codes) {
      std::string region;
      util->GetRegionCodeForCountryCode(code, &region);
      if (region == "ZZ")
        continue; // not in this libphonenumber's metadata: never fast
      std::string ndd;
      util->GetNddPrefixForRegion(region, true, &ndd);
      ndd_[code] = ndd;
    }
  }

  /// The national prefix of calling code `code`; nullptr when it is not a fast one.
  const std::string* ndd(int code) const {
    auto it = ndd_.find(code);
    return it == ndd_.end() ? nullptr : &it->second;
  }

private:
  std::map<int, std::string> ndd_;
};

} // namespace

std::span<const int> fast_path_calling_codes() { return fast_calling_codes; }

std::optional<std::string> canonical_e164(std::string_view text) {
  // '+', then 8 to 15 digits (E.164's maximum), the first not 0.
  if (text.size() < 9 || text.size() > 16 || text[0] != '+' || text[1] == '0')
    return std::nullopt;
  for (std::size_t i = 1; i < text.size(); ++i)
    if (text[i] < '0' || text[i] > '9')
      return std::nullopt;
  static const calling_codes table;
  // Calling codes are prefix-free: at most one of the first 1, 2 or 3 digits is one.
  int code = 0;
  for (std::size_t len = 1; len <= 3; ++len) {
    code = code * 10 + (text[len] - '0');
    const std::string* ndd = table.ndd(code);
    if (!ndd)
      continue; // not a fast code, or a prefix of a longer one
    const auto national = text.substr(1 + len);
    // libphonenumber strips a national prefix written after the calling code ("+82 010…" is +8210…), and keeps
    // numbers too short for any country to its own judgement: leave both to it.
    if (national.size() < 6 || (!ndd->empty() && national.substr(0, ndd->size()) == *ndd))
      return std::nullopt;
    return std::string{text};
  }
  return std::nullopt;
}

namespace {

/// libphonenumber's E.164 text of `text` read in `region`; nullopt when it does not parse.
std::optional<std::string> libphonenumber_e164(std::string_view text, std::string_view region) {
  using i18n::phonenumbers::PhoneNumberUtil;
  const auto* util = PhoneNumberUtil::GetInstance();
  i18n::phonenumbers::PhoneNumber number;
  if (util->Parse(std::string{text}, std::string{region}, &number) != PhoneNumberUtil::NO_PARSING_ERROR)
    return std::nullopt;
  std::string formatted;
  util->Format(number, PhoneNumberUtil::E164, &formatted);
  return formatted;
}

} // namespace

std::optional<std::string> normalize_phone(std::string_view text, std::string_view default_region) {
  text = trim(text);
  if (text.empty() || !printable_length(text))
    return std::nullopt;
  // What the pipeline usually sends is already canonical: libphonenumber would give it back unchanged, at
  // about 11 µs a number (11 ms for a batch of 1,000). intake_test holds the two paths together.
  if (auto canonical = canonical_e164(text))
    return canonical;
  auto formatted = libphonenumber_e164(text, default_region);
  // libphonenumber drops one national prefix per parse: "+82 0 0 2345 6788" gives +82023456788, which reads again
  // as +8223456788. Read the result again while it gets shorter, so that a stored contact normalises to itself
  // (contact= finds what intake stored); one that libphonenumber reads back otherwise is no phone number.
  while (formatted && !canonical_e164(*formatted)) {
    auto again = libphonenumber_e164(*formatted, default_region);
    if (again == formatted)
      break;
    if (!again || again->size() >= formatted->size())
      return std::nullopt;
    formatted = std::move(again);
  }
  return formatted;
}

std::optional<std::string> normalize_email(std::string_view text) {
  text = trim(text);
  if (!printable_length(text) || text.find_first_of(" \t") != std::string_view::npos)
    return std::nullopt;
  auto at = text.find('@');
  if (at == std::string_view::npos || at == 0 || text.find('@', at + 1) != std::string_view::npos)
    return std::nullopt;
  auto domain = text.substr(at + 1);
  if (domain.empty() || domain.find('.') == std::string_view::npos || domain.front() == '.' || domain.back() == '.'
      || domain.find("..") != std::string_view::npos)
    return std::nullopt;
  std::string out{text.substr(0, at + 1)};
  for (char c : domain)
    out += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  return out;
}

std::optional<std::string> normalize_contact(core::medium medium, std::string_view text,
                                             std::string_view default_region) {
  if (medium == core::medium::email)
    return normalize_email(text);
  return normalize_phone(text, default_region);
}

} // namespace deliveryd::adapters::intake
