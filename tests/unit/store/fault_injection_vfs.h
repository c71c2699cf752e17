// FaultInjectionVfs (test support, not part of the production library): an SQLite VFS shim for
// fault tests. It forwards every call to the default VFS and, when armed, makes writes
// (xWrite/xTruncate) and/or syncs (xSync) of database, WAL and journal files fail with SQLITE_FULL
// ("disk full") or SQLITE_IOERR (I/O error) — the most faithful way to exercise the store's error
// paths, because SQLite itself sees the failure.
//
// Register one under a unique name, pass that name as StoreOptions::sqlite_vfs, then arm/disarm
// it at any time from any thread (the switches are atomics). Destroy it only after every
// connection opened through it is closed. Thread-safe.
#pragma once

#include <sqlite3.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "common/status.h"

namespace peat::store {

class FaultInjectionVfs {
 public:
  enum class Fault : int { kNone = 0, kDiskFull = 1, kIoError = 2 };

  // Registers the shim (not as the default VFS). INVALID_ARGUMENT if `name` is taken.
  static StatusOr<std::unique_ptr<FaultInjectionVfs>> Register(std::string name);
  ~FaultInjectionVfs();
  FaultInjectionVfs(const FaultInjectionVfs&) = delete;
  FaultInjectionVfs& operator=(const FaultInjectionVfs&) = delete;

  const std::string& name() const { return name_; }

  // After `after` more successful writes, every write fails with `fault` until cleared.
  void FailWrites(Fault fault, uint64_t after = 0);
  // Every sync fails with `fault` until cleared.
  void FailSyncs(Fault fault);
  // Disarms everything.
  void Clear();

  uint64_t writes() const { return writes_.load(); }
  uint64_t syncs() const { return syncs_.load(); }
  uint64_t injected_failures() const { return injected_.load(); }

  // Used by the shim's C callbacks: the result code to fail this write/sync with, or SQLITE_OK.
  int OnWrite();
  int OnSync();

 private:
  explicit FaultInjectionVfs(std::string name);

  std::string name_;
  sqlite3_vfs vfs_{};
  std::atomic<int> write_fault_{0};
  std::atomic<int64_t> writes_before_fault_{0};
  std::atomic<int> sync_fault_{0};
  std::atomic<uint64_t> writes_{0};
  std::atomic<uint64_t> syncs_{0};
  std::atomic<uint64_t> injected_{0};
};

}  // namespace peat::store
