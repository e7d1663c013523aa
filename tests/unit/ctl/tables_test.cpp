// deliveryctl's text tables and number formats.
#include <catch2/catch.hpp>

#include "ctl/tables.hpp"

using namespace deliveryd::ctl;

TEST_CASE("tables: display width counts Hangul and CJK as two columns", "[ctl][tables]") {
  CHECK(display_width("") == 0);
  CHECK(display_width("sms") == 3);
  CHECK(display_width("겨울 세일") == 9);  // four Hangul syllables and a space
  CHECK(display_width("日本") == 4);
  CHECK(display_width("é") == 1);         // one code point, two bytes
  CHECK(display_width("e\xCC\x81") == 1); // e + combining acute
  CHECK(display_width("\xFF") == 1);      // an invalid byte still takes a column
}

TEST_CASE("tables: columns are aligned, numbers to the right, no trailing blanks", "[ctl][tables]") {
  text_table t;
  t.column("MEDIUM").column("SENDS", align::right).column("NOTE");
  t.row({"sms", "1,234", "ok"});
  t.row({"alimtalk", "7", ""});
  t.row({"겨울", "12"});
  CHECK(t.render() == "MEDIUM    SENDS  NOTE\n"
                      "sms       1,234  ok\n"
                      "alimtalk      7\n"
                      "겨울         12\n");
}

TEST_CASE("tables: a table without rows is its header", "[ctl][tables]") {
  text_table t;
  t.column("A").column("B");
  CHECK(t.empty());
  CHECK(t.render() == "A  B\n");
}

TEST_CASE("tables: key-value fields skip empty values", "[ctl][tables]") {
  CHECK(render_fields({{"send_id", "s-1"}, {"code", ""}, {"vendor_message_id", "SM1"}})
        == "send_id            s-1\nvendor_message_id  SM1\n");
}

TEST_CASE("tables: counts and amounts", "[ctl][tables]") {
  CHECK(format_count(0) == "0");
  CHECK(format_count(999) == "999");
  CHECK(format_count(1000) == "1,000");
  CHECK(format_count(1234567) == "1,234,567");
  CHECK(format_count(-1234) == "-1,234");
  CHECK(format_amount(15900) == "15,900");
  CHECK(format_amount(0) == "0");
  CHECK(format_amount(0.0316) == "0.0316");
  CHECK(format_amount(12.5) == "12.5");
  CHECK(format_amount(1234.25) == "1,234.25");
  CHECK(format_amount(0.00790000001) == "0.0079");
}

TEST_CASE("tables: bytes and the progress line", "[ctl][tables]") {
  CHECK(format_bytes(512) == "512 B");
  CHECK(format_bytes(1536) == "1.5 KiB");
  CHECK(format_bytes(12.3 * 1024 * 1024) == "12.3 MiB");
  CHECK(format_bytes(2ull * 1024 * 1024 * 1024) == "2.0 GiB");
  CHECK(format_progress(1536, 0.05) == "1.5 KiB received");
  CHECK(format_progress(8 * 1024 * 1024, 2.0) == "8.0 MiB received, 4.0 MiB/s");
}
