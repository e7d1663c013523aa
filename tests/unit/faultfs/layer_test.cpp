/// The fault layer against its model (tests/faultfs/README.md): a helper program writes, syncs and meets faults
/// under the layer, is SIGKILLed, and the power cut must leave each file byte for byte as the disk held it.

#include <catch2/catch.hpp>

#include <cerrno>

#include "faultfs_fixture.hpp"

using namespace faultfs_test;

namespace {

constexpr std::size_t page = 4096;

std::string open_cmd(const layer_fixture& t, int slot, const std::string& name, const std::string& mode) {
  return "open:" + std::to_string(slot) + ":" + t.at(name).string() + ":" + mode;
}

} // namespace

TEST_CASE("a power cut keeps what was synced and throws the rest away", "[faultfs]") {
  layer_fixture t;
  write_file(t.at("data"), bytes('x', 3 * page)); // there before the layer: on the disk
  const auto out = t.run({open_cmd(t, 0, "data", "rw"), "pwrite:0:0:a:4096", "fdatasync:0", "pwrite:0:4096:b:4096",
                          "pwrite:0:12288:c:100", "pause"});
  CHECK(out == std::vector<std::string>{"ok", "ok 4096", "ok", "ok 4096", "ok 100"});
  // Killed, not cut: the page cache (the real file) still has every write, as after a crash of the process alone.
  CHECK(read_file(t.at("data")) == bytes('a', page) + bytes('b', page) + bytes('x', page) + bytes('c', 100));
  CHECK(t.layer.dirty_pages("data") == std::vector<std::uint64_t>{1, 3});
  CHECK(t.layer.size_dirty("data"));

  t.layer.power_cut();
  CHECK(read_file(t.at("data")) == bytes('a', page) + bytes('x', 2 * page));
  CHECK(t.layer.dirty_pages("data").empty());
  const auto c = t.layer.counters();
  CHECK(c[counter::open_calls] == 1);
  CHECK(c[counter::write_calls] == 3);
  CHECK(c[counter::fdatasync_calls] == 1);
  CHECK(c[counter::synced_pages] == 1);
  CHECK(c[counter::lost_pages] == 0);
}

TEST_CASE("every kind of write is tracked and fsync syncs like fdatasync", "[faultfs]") {
  layer_fixture t;
  const auto out = t.run({open_cmd(t, 0, "log", "append"), "write:0:a:5000", "writev:0:b:3000", "fsync:0",
                          "write:0:c:10", open_cmd(t, 1, "log", "rw"), "pwrite:1:0:d:1", "pause"});
  CHECK(out == std::vector<std::string>{"ok", "ok 5000", "ok 3000", "ok", "ok 10", "ok", "ok 1"});
  t.layer.power_cut();
  CHECK(read_file(t.at("log")) == bytes('a', 5000) + bytes('b', 3000));
  const auto c = t.layer.counters();
  CHECK(c[counter::write_calls] == 4);
  CHECK(c[counter::fsync_calls] == 1);
  CHECK(c[counter::synced_pages] == 2);
  CHECK(c[counter::open_calls] == 2);
}

TEST_CASE("a size change is dirty until a sync carries it to the disk", "[faultfs]") {
  layer_fixture t;
  write_file(t.at("shrunk"), bytes('x', 3 * page));
  write_file(t.at("grown"), bytes('x', 100));
  const auto out = t.run({open_cmd(t, 0, "shrunk", "rw"), "truncate:0:100", open_cmd(t, 1, "grown", "rw"),
                          "truncate:1:5000", "fsync:1", "truncate:1:10", "pwrite:1:20000:z:5", "pause"});
  CHECK(out == std::vector<std::string>{"ok", "ok", "ok", "ok", "ok", "ok", "ok 5"});
  CHECK(read_file(t.at("shrunk")).size() == 100);
  t.layer.power_cut();
  CHECK(read_file(t.at("shrunk")) == bytes('x', 3 * page));
  CHECK(read_file(t.at("grown")) == bytes('x', 100) + bytes('\0', 4900));
  CHECK(t.layer.counters()[counter::truncate_calls] == 3);
}

TEST_CASE("open with O_TRUNC is a dirty truncation", "[faultfs]") {
  layer_fixture t;
  write_file(t.at("f"), bytes('x', 2 * page));
  CHECK(t.run({open_cmd(t, 0, "f", "trunc"), "size:0", "pause"}) == std::vector<std::string>{"ok", "size 0"});
  t.layer.power_cut();
  CHECK(read_file(t.at("f")) == bytes('x', 2 * page));
}

TEST_CASE("fsyncgate: pages a failed sync dropped stay lost after a later successful sync", "[faultfs]") {
  const auto which = GENERATE(as<std::string>{}, "fsync", "fdatasync");
  layer_fixture t;
  write_file(t.at("f"), bytes('x', 2 * page));
  t.layer.arm(which == "fsync" ? op::fsync : op::fdatasync, EIO, 1);
  const auto out = t.run({open_cmd(t, 0, "f", "rw"), "pwrite:0:0:a:4096", which + ":0", "read:0:0",
                          "pwrite:0:4096:b:4096", which + ":0", "read:0:0", "pause"});
  // The process still reads what it wrote (the kernel's cache keeps the page, marked clean), and the second sync
  // succeeds, but it has nothing of page 0 left to write.
  CHECK(out == std::vector<std::string>{"ok", "ok 4096", "err " + std::to_string(EIO), "byte a", "ok 4096", "ok",
                                        "byte a"});
  t.layer.power_cut();
  CHECK(read_file(t.at("f")) == bytes('x', page) + bytes('b', page));
  const auto c = t.layer.counters();
  CHECK(c[which == "fsync" ? counter::fsync_faults : counter::fdatasync_faults] == 1);
  CHECK(c[counter::lost_pages] == 1);
  CHECK(c[counter::synced_pages] == 1);
}

TEST_CASE("a sync makes durable what was written before it began and nothing written while it runs", "[faultfs]") {
  layer_fixture t;
  write_file(t.at("f"), bytes('x', 2 * page));
  t.layer.delay_syncs(400); // the sync's snapshot is taken; the write comes 100 ms later, while it still runs
  const auto out = t.run({open_cmd(t, 0, "f", "rw"), "pwrite:0:0:a:4096", "sync-during:0:4096:b:4096:100", "pause"});
  CHECK(out == std::vector<std::string>{"ok", "ok 4096", "sync ok, write 4096"});
  CHECK(t.layer.dirty_pages("f") == std::vector<std::uint64_t>{1});
  t.layer.power_cut();
  CHECK(read_file(t.at("f")) == bytes('a', page) + bytes('x', page));
  CHECK(t.layer.counters()[counter::synced_pages] == 1);
}

TEST_CASE("a page written again after a failed sync reaches the disk whole with the next sync", "[faultfs]") {
  layer_fixture t;
  write_file(t.at("f"), bytes('x', page));
  t.layer.arm(op::fdatasync, EIO, 1);
  const auto out = t.run({open_cmd(t, 0, "f", "rw"), "pwrite:0:0:a:4096", "fdatasync:0", "pwrite:0:0:b:10",
                          "fdatasync:0", "pause"});
  CHECK(out == std::vector<std::string>{"ok", "ok 4096", "err " + std::to_string(EIO), "ok 10", "ok"});
  t.layer.power_cut();
  CHECK(read_file(t.at("f")) == bytes('b', 10) + bytes('a', page - 10));
}

TEST_CASE("DONTNEED makes lost pages vanish from the process's view and keeps dirty ones", "[faultfs]") {
  layer_fixture t;
  write_file(t.at("f"), bytes('x', 2 * page));
  t.layer.arm(op::fdatasync, ENOSPC, 1);
  const auto out = t.run({open_cmd(t, 0, "f", "rw"), "pwrite:0:0:a:4096", "pwrite:0:8192:a:100", "fdatasync:0",
                          "pwrite:0:4096:b:4096", "read:0:0", "size:0", "dontneed:0", "read:0:0", "read:0:4096",
                          "size:0", "pause"});
  CHECK(out == std::vector<std::string>{"ok", "ok 4096", "ok 100", "err " + std::to_string(ENOSPC), "ok 4096",
                                        "byte a", "size 8292", "ok", "byte x", "byte b", "size 8192"});
  CHECK(t.layer.counters()[counter::dontneed_calls] == 1);
}

TEST_CASE("the control's drop_caches works like DONTNEED on every tracked file", "[faultfs]") {
  layer_fixture t;
  write_file(t.at("f"), bytes('x', 2 * page));
  t.layer.arm(op::fsync, EIO, 1);
  t.run({open_cmd(t, 0, "f", "rw"), "pwrite:0:0:a:4096", "fsync:0", "pwrite:0:4096:b:4096", "pause"});
  CHECK(read_file(t.at("f")) == bytes('a', page) + bytes('b', page));
  t.layer.drop_caches();
  CHECK(read_file(t.at("f")) == bytes('x', page) + bytes('b', page));
  t.layer.power_cut();
  CHECK(read_file(t.at("f")) == bytes('x', 2 * page));
}

TEST_CASE("O_DSYNC writes are on the disk at once", "[faultfs]") {
  layer_fixture t;
  const auto out = t.run({open_cmd(t, 0, "f", "dsync"), "pwrite:0:0:a:5000", open_cmd(t, 1, "f", "rw"),
                          "pwrite:1:8192:b:10", "pause"});
  CHECK(out == std::vector<std::string>{"ok", "ok 5000", "ok", "ok 10"});
  CHECK(t.layer.disk_content("f") == bytes('a', 5000));
  t.layer.power_cut();
  CHECK(read_file(t.at("f")) == bytes('a', 5000));
  CHECK(t.layer.counters()[counter::dsync_writes] == 1);
}

TEST_CASE("a sync through another descriptor of the file syncs the writes of all", "[faultfs]") {
  layer_fixture t;
  const auto out = t.run({open_cmd(t, 0, "wal", "rwc"), open_cmd(t, 1, "wal", "ro"), "dup:0:2", "pwrite:0:0:a:100",
                          "pwrite:2:4096:b:100", "close:0", "fdatasync:1", "pwrite:2:0:c:1", "pause"});
  CHECK(out == std::vector<std::string>{"ok", "ok", "ok", "ok 100", "ok 100", "ok", "ok", "ok 1"});
  t.layer.power_cut();
  CHECK(read_file(t.at("wal")) == bytes('a', 100) + bytes('\0', page - 100) + bytes('b', 100));
  CHECK(t.layer.counters()[counter::close_calls] == 1);
}

TEST_CASE("an injected write error changes nothing and a suffix limits a fault to its files", "[faultfs]") {
  layer_fixture t;
  write_file(t.at("a.db"), bytes('x', page));
  t.layer.arm(op::write, ENOSPC, -1, "-wal");
  const auto enospc = "err " + std::to_string(ENOSPC);
  const auto out = t.run({open_cmd(t, 0, "a.db", "rw"), open_cmd(t, 1, "a.db-wal", "rwc"), "pwrite:1:0:w:100",
                          "truncate:1:4096", "pwrite:0:0:a:10", "fdatasync:0", "read:1:0", "size:1", "pause"});
  CHECK(out == std::vector<std::string>{"ok", "ok", enospc, enospc, "ok 10", "ok", "eof", "size 0"});
  CHECK(t.layer.dirty_pages("a.db-wal").empty());
  CHECK_FALSE(t.layer.size_dirty("a.db-wal"));
  const auto c = t.layer.counters();
  CHECK(c[counter::write_faults] == 2);
  CHECK(c[counter::write_calls] == 2);
  t.layer.power_cut();
  CHECK(read_file(t.at("a.db")) == bytes('a', 10) + bytes('x', page - 10));
}

TEST_CASE("a fault armed for a count fails that many calls and then none", "[faultfs]") {
  layer_fixture t;
  t.layer.arm(op::write, EIO, 2);
  const auto eio = "err " + std::to_string(EIO);
  const auto out = t.run({open_cmd(t, 0, "f", "rwc"), "pwrite:0:0:a:1", "pwrite:0:0:a:1", "pwrite:0:0:a:1", "pause"});
  CHECK(out == std::vector<std::string>{"ok", eio, eio, "ok 1"});
  t.layer.arm(op::fdatasync, EIO);
  CHECK(t.run({open_cmd(t, 0, "f", "rw"), "fdatasync:0", "fdatasync:0", "pause"}) ==
        std::vector<std::string>{"ok", eio, eio});
  t.layer.disarm();
  CHECK(t.run({open_cmd(t, 0, "f", "rw"), "fdatasync:0", "pause"}) == std::vector<std::string>{"ok", "ok"});
}

TEST_CASE("files outside the root pass straight through", "[faultfs]") {
  layer_fixture t;
  const auto file = t.outside("plain");
  const auto out = t.run({"open:0:" + file.string() + ":rwc", "pwrite:0:0:a:100", "pause"});
  CHECK(out == std::vector<std::string>{"ok", "ok 100"});
  t.layer.power_cut();
  CHECK(read_file(file) == bytes('a', 100));
  CHECK(t.layer.tracked_files().empty());
  const auto c = t.layer.counters();
  CHECK(c[counter::open_calls] == 0);
  CHECK(c[counter::write_calls] == 0);
}

TEST_CASE("without its variables the layer tracks nothing", "[faultfs]") {
  layer_fixture t;
  t.layer.arm(op::write, EIO);
  const auto out = t.run({open_cmd(t, 0, "f", "rwc"), "pwrite:0:0:a:100", "pause"}, false);
  CHECK(out == std::vector<std::string>{"ok", "ok 100"});
  CHECK(t.layer.tracked_files().empty());
  CHECK(t.layer.counters()[counter::write_calls] == 0);
}

TEST_CASE("unlink and rename are durable at once and carry the state", "[faultfs]") {
  layer_fixture t;
  const auto out = t.run({open_cmd(t, 0, "a", "rwc"), "pwrite:0:0:a:4096", "fdatasync:0", "pwrite:0:4096:b:10",
                          "close:0", "rename:" + t.at("a").string() + ":" + t.at("b").string(),
                          open_cmd(t, 1, "c", "rwc"), "pwrite:1:0:c:10", "fdatasync:1", "close:1",
                          "unlink:" + t.at("c").string(), "pause"});
  CHECK(out == std::vector<std::string>{"ok", "ok 4096", "ok", "ok 10", "ok", "ok", "ok", "ok 10", "ok", "ok", "ok"});
  CHECK(t.layer.tracked_files() == std::vector<std::string>{"b"});
  t.layer.power_cut();
  CHECK(read_file(t.at("b")) == bytes('a', page));
  CHECK_FALSE(fs::exists(t.at("a")));
  CHECK_FALSE(fs::exists(t.at("c")));
  const auto c = t.layer.counters();
  CHECK(c[counter::rename_calls] == 1);
  CHECK(c[counter::unlink_calls] == 1);
}

TEST_CASE("threads writing and syncing through their own descriptors lose nothing that was synced", "[faultfs]") {
  layer_fixture t;
  CHECK(t.run({"threads:" + t.at("f").string() + ":4:16", "pause"}) == std::vector<std::string>{"threads done"});
  t.layer.power_cut();
  std::string expected;
  for (char c = 'A'; c < 'A' + 4; ++c)
    expected += bytes(c, 16 * page);
  CHECK(read_file(t.at("f")) == expected);
  const auto c = t.layer.counters();
  CHECK(c[counter::write_calls] == 64);
  CHECK(c[counter::fdatasync_calls] == 64);
  CHECK(c[counter::open_calls] == 8);
}

TEST_CASE("forked processes writing and syncing one file lose nothing that was synced", "[faultfs]") {
  // PostgreSQL's way: the postmaster forks without exec, and every process writes and fsyncs the same files.
  layer_fixture t;
  const auto f = t.at("f").string();
  CHECK(t.run({"forks:" + f + ":4:16", open_cmd(t, 0, "f", "rw"), "pwrite:0:0:z:10", "pause"}) ==
        std::vector<std::string>{"forks done 4", "ok", "ok 10"});
  t.layer.power_cut();
  std::string expected;
  for (char c = 'a'; c < 'a' + 4; ++c)
    expected += bytes(c, 16 * page);
  CHECK(read_file(t.at("f")) == expected); // the parent's unsynced write is gone, every child's synced page kept
  const auto c = t.layer.counters();
  CHECK(c[counter::write_calls] == 65);
  CHECK(c[counter::fsync_calls] == 64);
  CHECK(c[counter::synced_pages] >= 64);
  CHECK(c[counter::untracked_opens] == 0);
}

TEST_CASE("truncate by name is a dirty truncation", "[faultfs]") {
  layer_fixture t;
  write_file(t.at("cut"), bytes('x', 3 * page));
  write_file(t.at("kept"), bytes('y', 3 * page));
  const auto out = t.run({"truncate-path:" + t.at("cut").string() + ":0",
                          "truncate-path:" + t.at("kept").string() + ":4096", open_cmd(t, 0, "kept", "rw"),
                          "fsync:0", "truncate-path:" + t.at("missing").string() + ":0", "pause"});
  CHECK(out == std::vector<std::string>{"ok", "ok", "ok", "ok", "err " + std::to_string(ENOENT)});
  CHECK(fs::file_size(t.at("cut")) == 0);
  t.layer.power_cut();
  CHECK(read_file(t.at("cut")) == bytes('x', 3 * page)); // never synced: the disk kept the old size
  CHECK(read_file(t.at("kept")) == bytes('y', page));    // synced
  CHECK_FALSE(fs::exists(t.at("missing")));
  CHECK(t.layer.counters()[counter::truncate_calls] == 2);
}
