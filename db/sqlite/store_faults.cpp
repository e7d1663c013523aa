// The ledger writer when the disk refuses: a ledger it could not write is refused at open, and a failure while
// running is put in words for a person.
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <SQLiteCpp/Exception.h>

#include "db/sqlite/store_impl.hpp"

namespace deliveryd::db::sqlite {

namespace {

/// True when `path` lies on a mount that is read-only: mounted so, or turned so by the kernel after an error
/// (ext4 `errors=remount-ro`).
bool on_read_only_mount(const std::string& path) {
  struct statvfs fs {};
  return ::statvfs(path.c_str(), &fs) == 0 && (fs.f_flag & ST_RDONLY) != 0;
}

/// True when the kernel has made the file system of `path` read-only after an error (ext4 `errors=remount-ro`)
/// in the way of kernels since 6.15: the mount stays "rw" for statvfs, writes fail with EIO, and its super
/// options in /proc/self/mountinfo say `emergency_ro`. (Older kernels set the mount read-only: statvfs sees it.)
bool emergency_read_only(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    return false;
  const auto device = std::to_string(major(st.st_dev)) + ":" + std::to_string(minor(st.st_dev));
  std::ifstream mounts{"/proc/self/mountinfo"};
  for (std::string line; std::getline(mounts, line);) {
    std::istringstream fields{line};
    std::string id, parent, numbers;
    fields >> id >> parent >> numbers;
    const auto dash = line.find(" - ");
    if (numbers != device || dash == std::string::npos)
      continue;
    std::istringstream tail{line.substr(dash + 3)};
    std::string type, source, options;
    tail >> type >> source >> options;
    if (("," + options + ",").find(",emergency_ro,") != std::string::npos)
      return true;
  }
  return false;
}

/// Why `file`, which exists, cannot be written (`name` is how the sentence calls it); nullopt when it can.
std::optional<std::string> unwritable(const std::string& file, const std::string& name) {
  if (::access(file.c_str(), W_OK) == 0)
    return std::nullopt;
  const int error = errno;
  const std::string why = name + " cannot be written (" + std::strerror(error) + "): ";
  if (error == EROFS)
    return why + "its file system is read-only";
  return why + "check its owner and mode; deliveryd writes the ledger, its -wal and -shm files and their folder";
}

/// Why the ledger at `path`, its -wal and -shm files or their folder cannot be written; nullopt when all can be.
std::optional<std::string> refuse_unwritable(const std::string& path) {
  // SQLite opens a ledger it cannot write read-only, without a word, and a connection never becomes writable;
  // the process's other connections share the -shm it mapped read-only, so only a restart would recover. It
  // also creates missing -wal and -shm files with the ledger's own mode: a start on a 0444 ledger would leave
  // 0444 -wal and -shm files behind, and they keep the next start read-only even once the ledger is fixed.
  // Checked before SQLite opens anything, so that a refused ledger is left exactly as it was.
  const auto folder = std::filesystem::path{path}.parent_path();
  const std::string folder_name = folder.empty() ? "." : folder.string();
  if (auto why = unwritable(folder_name, "its folder " + folder_name))
    return why;
  for (const char* suffix : {"", "-wal", "-shm"}) {
    const auto file = path + suffix;
    if (::access(file.c_str(), F_OK) == 0)
      if (auto why = unwritable(file, *suffix == '\0' ? std::string{"the file"} : file))
        return why;
  }
  return std::nullopt;
}

/// True when the file system of `path` has no block left for deliveryd. SQLite reports some writes that the disk
/// refused for want of space as I/O errors (growing the -shm file when the ledger is opened), without the errno.
bool no_space_left(const std::string& path) {
  struct statvfs fs {};
  return ::statvfs(path.c_str(), &fs) == 0 && fs.f_bavail == 0;
}

/// What made an operation on the ledger at `file` throw `failure`, in words for a person; `os_error` is the
/// errno SQLite saw, 0 when unknown.
ledger_error describe(const std::exception& failure, int os_error, const std::string& file) {
  const auto* sql = dynamic_cast<const SQLite::Exception*>(&failure);
  if (sql == nullptr)
    return {fault::unavailable, failure.what()}; // not SQLite's: a bug, said as it is
  // SQLite's own syncs (of the WAL and the database file in a checkpoint, of the folder): as the writer's
  // fdatasync of the WAL, a failure means the disk may lack what the page cache shows.
  const int extended = sql->getExtendedErrorCode();
  if (extended == SQLITE_IOERR_FSYNC || extended == SQLITE_IOERR_DIR_FSYNC) {
    ledger_error error{os_error == ENOSPC || os_error == EDQUOT ? fault::full : fault::unavailable,
                       "a sync of the ledger to the disk failed (" + std::string{failure.what()} +
                           (os_error != 0 ? ": " + std::string{std::strerror(os_error)} : std::string{}) + ")"};
    error.durability_lost = true;
    return error;
  }
  // The primary code says what SQLite saw; the OS error (errno of the failed read, write or sync) says why.
  const int code = sql->getErrorCode() & 0xFF;
  // A file system the kernel turned read-only after an error may fail writes with EIO, not EROFS: ask the mount.
  if (emergency_read_only(file))
    return {fault::read_only, "the ledger's file system is read-only: the kernel made it so after an error (see its log)"};
  if (os_error == EROFS || on_read_only_mount(file))
    return {fault::read_only, "the ledger's file system is read-only"};
  if (code == SQLITE_FULL || os_error == ENOSPC || (code == SQLITE_IOERR && no_space_left(file)))
    return {fault::full, "the disk is full"};
  if (os_error == EDQUOT)
    return {fault::full, "deliveryd's disk quota is used up"};
  if (code == SQLITE_READONLY)
    return {fault::read_only, "the ledger cannot be written (" + std::string{failure.what()} + ")"};
  if (code == SQLITE_IOERR)
    return {fault::unavailable, "the disk reports an I/O error (" + std::string{failure.what()} + ")"};
  if (code == SQLITE_CORRUPT || code == SQLITE_NOTADB)
    return {fault::corrupt, failure.what()};
  return {fault::unavailable, failure.what()};
}

} // namespace

std::optional<ledger_error> refuse_before_open(const std::string& path) {
  std::error_code error;
  const auto size = std::filesystem::file_size(path, error);
  if (error)
    return std::nullopt; // a new ledger: creating it in its folder says whether the folder can be written
  // SQLite takes an empty file for a new database: a ledger emptied by a failed copy or restore would be
  // replaced by a new, empty one without a word.
  if (size == 0)
    return ledger_error{fault::corrupt, "the file is empty, and a ledger never is (a failed copy or restore?): "
                                        "restore it from a backup, or remove it to start a new, empty ledger"};
  if (auto why = refuse_unwritable(path))
    return ledger_error{fault::read_only, std::move(*why)};
  return std::nullopt;
}

ledger_error explain_open_failure(const std::exception& failure, const std::string& path) {
  return describe(failure, 0, path);
}

ledger_error ledger_store::explain(const std::exception& failure) const {
  return describe(failure, sqlite3_system_errno(self_->db.getHandle()),
                  sqlite3_db_filename(self_->db.getHandle(), "main"));
}

} // namespace deliveryd::db::sqlite
