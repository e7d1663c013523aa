#include "load_support.hpp"

#include <algorithm>

#include <SQLiteCpp/Database.h>
#include <catch2/catch.hpp>

namespace it {

answer answer_of(const httplib::Result& result) {
  if (!result)
    return answer::none;
  return result->status >= 200 && result->status <= 299 ? answer::acked : answer::refused;
}

intake_counts post_in_chunks(httplib::Client& ops, const json& items) {
  intake_counts sum;
  for (std::size_t first = 0; first < items.size(); first += 5000) {
    json chunk = json::array();
    for (std::size_t i = first; i < std::min(items.size(), first + 5000); ++i)
      chunk.push_back(items[i]);
    auto res = post_sends(ops, chunk);
    INFO("POST /v1/sends of " << chunk.size() << " items -> " << describe(res).substr(0, 300));
    REQUIRE(res);
    REQUIRE(res->status == 200);
    auto answer = body_of(res);
    sum.accepted += answer["accepted"].get<std::size_t>();
    sum.duplicates += answer["duplicates"].get<std::size_t>();
    sum.updated += answer["updated"].get<std::size_t>();
    sum.rejected += answer["rejected"].size();
  }
  return sum;
}

std::string integrity_of(const fs::path& ledger) {
  SQLite::Database db{ledger.string(), SQLite::OPEN_READONLY};
  return db.execAndGet("PRAGMA integrity_check").getString();
}

form_params jasmin_dlr(const std::string& id, const std::string& stat, const std::string& err) {
  return {{"id", id},          {"id_smsc", "2567"}, {"message_status", stat}, {"level", "2"},
          {"subdate", "2611270930"}, {"donedate", "2611270932"}, {"sub", "001"},
          {"dlvrd", stat == "DELIVRD" ? "001" : "000"}, {"err", err}, {"text", "Your code is 123456"}};
}

json sg_event(const std::string& event, const std::string& message_id, const std::string& event_id, seconds_point at) {
  return json{{"email", "ana@example.com"},
              {"timestamp", at.time_since_epoch().count()},
              {"event", event},
              {"sg_event_id", event_id},
              {"sg_message_id", message_id + ".recvd-7d6f9b8c4-x2lqp-1-6748A1B2-3.0"},
              {"category", json::array({"follow_up"})}};
}

json aggregator_result(const std::string& message_id, const std::string& result_code, seconds_point done_at) {
  return json{{"message_id", message_id}, {"result_code", result_code}, {"done_at", seoul_rfc3339(done_at)}};
}

json kakao_result(const std::string& message_id, const std::string& result_code, seconds_point done_at) {
  return json{{"message_id", message_id}, {"result_code", result_code}, {"done_at", seoul_rfc3339(done_at)}};
}

} // namespace it
