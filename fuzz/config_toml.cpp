/// The configuration: config::parse on any TOML text.
///
/// Input: the whole input is the TOML text. Relative `*_file` paths are read from the working directory, which
/// fuzz/run.sh makes an empty temporary one.

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include <toml++/toml.h>

#include "config/config.hpp"
#include "config/toml_guard.hpp"
#include "fuzz_support.hpp"

namespace config = deliveryd::config;
namespace core = deliveryd::core;
namespace fz = deliveryd::fuzz;

namespace {

const std::string source_name = "fuzz.toml";

/// Where an inline secret's value is written: its bytes inside the quotes of a one-line string without escapes.
struct secret_span {
  std::size_t offset = 0;
  std::size_t length = 0;
};

/// The byte offset of a toml++ position (1-based line and column, columns counting code points).
std::size_t offset_of(std::string_view text, const toml::source_position& at) {
  std::size_t offset = 0;
  for (toml::source_index line = 1; line < at.line && offset < text.size(); ++line) {
    offset = text.find('\n', offset);
    offset = offset == std::string_view::npos ? text.size() : offset + 1;
  }
  for (toml::source_index column = 1; column < at.column && offset < text.size(); ++column) {
    const auto length = core::utf8_sequence(text, offset);
    offset += length == 0 ? 1 : length;
  }
  return offset;
}

/// The document as toml++ reads it, or nullopt when it is no TOML or the guard keeps it from toml++
/// (config/toml_guard.hpp). config::parse runs toml++ from Debian's shared library, which no sanitizer sees; this
/// header-only copy is instrumented, so that undefined behaviour the guard lets through is a finding here.
std::optional<toml::table> instrumented_parse(std::string_view text) {
  if (config::find_unsafe_character(text))
    return std::nullopt;
  try {
    return toml::parse(text, source_name);
  } catch (const toml::parse_error&) {
    return std::nullopt;
  }
}

/// The inline secrets of a document (the keys config.hpp marks secret) that are written literally.
std::vector<secret_span> inline_secrets(std::string_view text, const toml::table& root) {
  std::vector<secret_span> spans;
  for (const auto* section : {"twilio", "email", "carrier", "kakao"})
    for (const auto* key : {"auth_token", "webhook_shared_key", "token", "access_key", "secret_key", "push_token"}) {
      const auto* node = root[section][key].node();
      const auto value = root[section][key].value<std::string>();
      if (node == nullptr || !value || value->empty())
        continue;
      const auto quote = offset_of(text, node->source().begin);
      const auto close = quote + 1 + value->size();
      if (close < text.size() && (text[quote] == '"' || text[quote] == '\'') && text[close] == text[quote] &&
          text.substr(quote + 1, value->size()) == *value)
        spans.push_back({quote + 1, value->size()});
    }
  return spans;
}

/// `text` with the bytes of `span` replaced by as many others ('x', or 'y' where there was an 'x').
std::string with_other_secret(std::string_view text, const secret_span& span) {
  std::string out{text};
  for (std::size_t i = span.offset; i < span.offset + span.length; ++i)
    out[i] = out[i] == 'x' ? 'y' : 'x';
  return out;
}

/// A configuration that loads keeps every value within the limits the daemon relies on.
void check_config(const config::daemon_config& c) {
  FUZZ_CHECK(c.storage.retention_days >= 1 && c.storage.retention_days <= 3650 && !c.storage.path.empty());
  FUZZ_CHECK(core::zone::locate(c.time.zone).has_value());
  FUZZ_CHECK(c.webhooks.max_body_bytes >= 1 && c.ops.max_body_bytes >= 1);
  for (const double price : {c.pricing.sms, c.pricing.lms, c.pricing.alimtalk, c.pricing.email})
    FUZZ_CHECK(std::isfinite(price) && price >= 0);
  if (c.ops.token)
    FUZZ_CHECK(!c.ops.token->empty());
  if (c.twilio) {
    FUZZ_CHECK(!c.twilio->auth_token.empty() && !c.webhooks.public_url.empty());
    FUZZ_CHECK(c.twilio->poll_after.count() > 0 && c.twilio->uncertain_after.count() > 0);
  }
  if (c.carrier)
    FUZZ_CHECK(!c.carrier->token.empty() && c.carrier->uncertain_after.count() > 0);
  if (c.kakao)
    FUZZ_CHECK(!c.kakao->secret_key.empty() && c.kakao->poll_interval.count() > 0);
  if (c.email)
    FUZZ_CHECK(c.email->max_skew.count() > 0);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto text = fz::as_text(data, size);
  const auto document = instrumented_parse(text);
  const auto loaded = config::parse(text, source_name);
  if (const auto* config = std::get_if<config::daemon_config>(&loaded)) {
    check_config(*config);
    return 0;
  }
  // An error names the file and never shows a secret: another secret of the same length gives the same error.
  const auto& message = std::get<config::config_error>(loaded).message;
  FUZZ_CHECK(message.starts_with(source_name + ": ") && message.size() > source_name.size() + 2);
  for (const auto& span : document ? inline_secrets(text, *document) : std::vector<secret_span>{}) {
    const auto other = config::parse(with_other_secret(text, span), source_name);
    FUZZ_CHECK(std::holds_alternative<config::config_error>(other));
    FUZZ_CHECK(std::get<config::config_error>(other).message == message);
  }
  return 0;
}
