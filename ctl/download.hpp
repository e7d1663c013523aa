#pragma once
/// `deliveryctl export`: the month's rows streamed from GET /v1/log/export into a file, with a progress
/// display when the error stream is a terminal.

#include <optional>
#include <string>

#include "ctl/args.hpp"
#include "ctl/commands.hpp"
#include "ctl/http.hpp"

namespace deliveryd::ctl {

/// The file name in a Content-Disposition header (`filename="x"` or `filename=x`), reduced to a plain name
/// in the current folder; nullopt when there is none or it is unsafe ("", ".", "..", a hidden file).
std::optional<std::string> attachment_name(const std::string& content_disposition);

/// Runs an export: writes to `<file>.part` and renames it when the last byte arrived, so that a failed or
/// interrupted export leaves no file that looks complete.
int run_export(const export_command& c, bool as_json, ops_client& client, const ops_endpoint& endpoint,
               console& io);

} // namespace deliveryd::ctl
