#pragma once
/// A month of sends as the export tests and the copy-ledger tests fill it (intake, Twilio callbacks, deadlines, a
/// logical send with a failover leg, over four days), and walking a month's day logs page by page.

#include <cstddef>
#include <string>
#include <vector>

#include "harness.hpp"

namespace it {

/// "YYYY-MM" of an instant in Seoul.
std::string seoul_month(seconds_point t);

/// The first instant of a Seoul calendar month, given any instant in it.
seconds_point month_start(seconds_point t);

/// Every Seoul calendar day of a month: "YYYY-MM-DD".
std::vector<std::string> days_of(seconds_point start);

/// Every row of a day log, page after page of `limit`, with the query's filters ("" or "&name=value…").
std::vector<json> walk_day(httplib::Client& ops, const std::string& date, const std::string& filters, int limit);

/// The rows of every day of the month, oldest day first.
std::vector<json> walk_month(httplib::Client& ops, seconds_point start, const std::string& filters);

/// The daemon of these tests: Twilio, e-mail and Kakao enabled, every vendor's sends uncertain an hour after
/// requested_at (all the month's sends are older: their deadlines fire at once), no vendor reachable for polls.
daemon_options month_options();

/// A Twilio send of the month with its MessageSid.
json twilio_item(const std::string& id, const std::string& medium, seconds_point at,
                 const std::string& type = "follow_up", const std::string& source = {});

/// Registers a month of sends on days 1-4 of the month that starts at `start`, and their Twilio outcomes; one
/// send in the month before. Returns the number of rows the month's day logs must show.
std::size_t fill_month(const daemon_process& d, httplib::Client& ops, httplib::Client& hooks, seconds_point start);

} // namespace it
