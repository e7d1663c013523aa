#include <catch2/catch.hpp>

#include <vector>

#include "core/failover.hpp"

using namespace deliveryd::core;

namespace {

send_state make(status s, std::string code = "") {
  send_state st;
  st.current = s;
  st.code = std::move(code);
  return st;
}

} // namespace

TEST_CASE("an Alimtalk send without legs is its own logical send", "[failover]") {
  auto kakao = make(status::failed, "kakao:3018");
  CHECK(logical_state(kakao, {}) == kakao);
}

TEST_CASE("any delivered attempt makes the logical send sent", "[failover]") {
  std::vector<send_state> legs{make(status::failed, "carrier:4401"), make(status::sent)};
  CHECK(logical_state(make(status::failed, "kakao:3018"), legs).current == status::sent);
  std::vector<send_state> one_failed{make(status::failed, "carrier:4401")};
  CHECK(logical_state(make(status::sent), one_failed).current == status::sent);
  // A delivered leg wins even when a later leg failed.
  std::vector<send_state> later_failed{make(status::sent), make(status::failed, "carrier:4410")};
  CHECK(logical_state(make(status::failed, "kakao:3018"), later_failed).current == status::sent);
}

TEST_CASE("without a delivery the last registered leg decides, code and all", "[failover]") {
  std::vector<send_state> legs{make(status::failed, "carrier:4401"), make(status::pending)};
  CHECK(logical_state(make(status::failed, "kakao:3018"), legs).current == status::pending);
  std::vector<send_state> failed{make(status::pending), make(status::failed, "carrier:4410")};
  auto out = logical_state(make(status::failed, "kakao:3018"), failed);
  CHECK(out.current == status::failed);
  CHECK(out.code == "carrier:4410");
  std::vector<send_state> uncertain{make(status::uncertain, "ME09")};
  CHECK(logical_state(make(status::failed, "kakao:3019"), uncertain).code == "ME09");
}
