#include "db/postgresql/connection.hpp"

#include "core/redact.hpp"

namespace deliveryd::db::postgresql {

namespace {

/// `text` with every occurrence of the password of `url` replaced.
std::string without_password(std::string text, const std::string& url) {
  const auto password = core::conninfo_password(url);
  if (password.empty())
    return text;
  for (auto at = text.find(password); at != std::string::npos; at = text.find(password, at))
    text.replace(at, password.size(), "***");
  return text;
}

/// The first line of a server's or libpq's message, without the "ERROR:  " prefix.
std::string first_line(std::string text) {
  if (auto nl = text.find('\n'); nl != std::string::npos)
    text.resize(nl);
  for (const char* prefix : {"ERROR:  ", "FATAL:  "})
    if (text.rfind(prefix, 0) == 0)
      text.erase(0, std::string{prefix}.size());
  return text;
}

} // namespace

std::string redact(const std::string& url) { return core::redact_conninfo(url); }

std::unique_ptr<pqxx::connection> connect(const std::string& url, bool durable) {
  auto c = std::make_unique<pqxx::connection>(url);
  pqxx::nontransaction setup{*c};
  setup.exec0(std::string{"SET TIME ZONE 'UTC'; SET synchronous_commit = "} + (durable ? "on" : "off"));
  return c;
}

std::string bigint_array(const std::vector<std::int64_t>& ids) {
  std::string out = "{";
  for (std::size_t i = 0; i < ids.size(); ++i)
    out += (i ? "," : "") + std::to_string(ids[i]);
  return out + "}";
}

bool connection_lost(const std::exception& failure) noexcept {
  if (dynamic_cast<const pqxx::broken_connection*>(&failure) != nullptr)
    return true;
  if (const auto* sql = dynamic_cast<const pqxx::sql_error*>(&failure)) {
    const auto& state = sql->sqlstate();
    // 08: connection exceptions; 57P01-57P03: the server shuts down or is starting.
    return state.rfind("08", 0) == 0 || state == "57P01" || state == "57P02" || state == "57P03";
  }
  return false;
}

ledger_error describe(const std::exception& failure, const std::string& doing, const std::string& url) {
  const auto where = "PostgreSQL (" + redact(url) + ")";
  const auto said = without_password(first_line(failure.what()), url);
  if (dynamic_cast<const pqxx::broken_connection*>(&failure) != nullptr)
    return {fault::unavailable, doing + ": " + where + " cannot be reached: " + said};
  // libpqxx 6.4 throws these outside sql_error, without their SQLSTATE (40P01, 40001): the server rolled the
  // transaction back, and it may be tried again at once. Not statement_completion_unknown: whether that one
  // committed is not known, so it is neither retried nor acknowledged.
  if (dynamic_cast<const pqxx::deadlock_detected*>(&failure) != nullptr
      || dynamic_cast<const pqxx::serialization_failure*>(&failure) != nullptr)
    return {fault::unavailable, doing + ": a concurrent writer of " + where + " conflicted with this one (" + said + ")",
            true};
  if (const auto* sql = dynamic_cast<const pqxx::sql_error*>(&failure)) {
    const auto& state = sql->sqlstate();
    if (state == "53100")
      return {fault::full, doing + ": the disk of " + where + " is full: " + said};
    if (state == "25006")
      return {fault::read_only, doing + ": " + where + " takes no writes (a read-only server or transaction): "
                                  + said};
    if (state == "3D000" || state.rfind("28", 0) == 0 || state == "42501")
      return {fault::corrupt, doing + ": " + where + " refuses this database or role: " + said
                                + " (create them as the README's \"Several hosts\" says)"};
    if (state == "40P01" || state == "40001")
      return {fault::unavailable,
              doing + ": a concurrent writer of " + where + " conflicted with this one (" + said + ")", true};
    if (connection_lost(failure))
      return {fault::unavailable, doing + ": " + where + " is not available: " + said};
    return {fault::unavailable, doing + ": " + where + " failed: " + said};
  }
  return {fault::unavailable, doing + ": " + where + " failed: " + said};
}

} // namespace deliveryd::db::postgresql
