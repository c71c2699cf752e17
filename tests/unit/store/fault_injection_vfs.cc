#include "store/fault_injection_vfs.h"

#include <utility>

namespace peat::store {
namespace {

// The shim's file: our header, then the real VFS's file object (szOsFile bytes) right after it.
struct ShimFile {
  sqlite3_file base;  // must be first: SQLite sees a ShimFile as an sqlite3_file
  FaultInjectionVfs* owner;
  sqlite3_file* real() { return reinterpret_cast<sqlite3_file*>(this + 1); }
};
static_assert(sizeof(ShimFile) % 8 == 0, "the real file object must stay 8-byte aligned");

ShimFile* Shim(sqlite3_file* f) { return reinterpret_cast<ShimFile*>(f); }
sqlite3_file* Real(sqlite3_file* f) { return Shim(f)->real(); }
const sqlite3_io_methods* M(sqlite3_file* f) { return Real(f)->pMethods; }

int ShimClose(sqlite3_file* f) {
  const int rc = M(f) != nullptr ? M(f)->xClose(Real(f)) : SQLITE_OK;
  f->pMethods = nullptr;
  return rc;
}
int ShimRead(sqlite3_file* f, void* buf, int n, sqlite3_int64 off) {
  return M(f)->xRead(Real(f), buf, n, off);
}
int ShimWrite(sqlite3_file* f, const void* buf, int n, sqlite3_int64 off) {
  if (int rc = Shim(f)->owner->OnWrite(); rc != SQLITE_OK) return rc;
  return M(f)->xWrite(Real(f), buf, n, off);
}
int ShimTruncate(sqlite3_file* f, sqlite3_int64 size) {
  if (int rc = Shim(f)->owner->OnWrite(); rc != SQLITE_OK) return rc;
  return M(f)->xTruncate(Real(f), size);
}
int ShimSync(sqlite3_file* f, int flags) {
  if (int rc = Shim(f)->owner->OnSync(); rc != SQLITE_OK) return rc;
  return M(f)->xSync(Real(f), flags);
}
int ShimFileSize(sqlite3_file* f, sqlite3_int64* size) { return M(f)->xFileSize(Real(f), size); }
int ShimLock(sqlite3_file* f, int l) { return M(f)->xLock(Real(f), l); }
int ShimUnlock(sqlite3_file* f, int l) { return M(f)->xUnlock(Real(f), l); }
int ShimCheckReservedLock(sqlite3_file* f, int* out) {
  return M(f)->xCheckReservedLock(Real(f), out);
}
int ShimFileControl(sqlite3_file* f, int op, void* arg) {
  return M(f)->xFileControl(Real(f), op, arg);
}
int ShimSectorSize(sqlite3_file* f) { return M(f)->xSectorSize(Real(f)); }
int ShimDeviceCharacteristics(sqlite3_file* f) { return M(f)->xDeviceCharacteristics(Real(f)); }
int ShimShmMap(sqlite3_file* f, int pg, int pgsz, int extend, void volatile** pp) {
  if (M(f)->iVersion < 2) return SQLITE_IOERR;
  return M(f)->xShmMap(Real(f), pg, pgsz, extend, pp);
}
int ShimShmLock(sqlite3_file* f, int offset, int n, int flags) {
  if (M(f)->iVersion < 2) return SQLITE_IOERR;
  return M(f)->xShmLock(Real(f), offset, n, flags);
}
void ShimShmBarrier(sqlite3_file* f) {
  if (M(f)->iVersion >= 2) M(f)->xShmBarrier(Real(f));
}
int ShimShmUnmap(sqlite3_file* f, int del) {
  if (M(f)->iVersion < 2) return SQLITE_OK;
  return M(f)->xShmUnmap(Real(f), del);
}
int ShimFetch(sqlite3_file* f, sqlite3_int64 off, int n, void** pp) {
  if (M(f)->iVersion < 3) {
    *pp = nullptr;
    return SQLITE_OK;
  }
  return M(f)->xFetch(Real(f), off, n, pp);
}
int ShimUnfetch(sqlite3_file* f, sqlite3_int64 off, void* p) {
  if (M(f)->iVersion < 3) return SQLITE_OK;
  return M(f)->xUnfetch(Real(f), off, p);
}

const sqlite3_io_methods kShimMethods = {
    3,
    ShimClose,
    ShimRead,
    ShimWrite,
    ShimTruncate,
    ShimSync,
    ShimFileSize,
    ShimLock,
    ShimUnlock,
    ShimCheckReservedLock,
    ShimFileControl,
    ShimSectorSize,
    ShimDeviceCharacteristics,
    ShimShmMap,
    ShimShmLock,
    ShimShmBarrier,
    ShimShmUnmap,
    ShimFetch,
    ShimUnfetch,
};

struct VfsData {
  FaultInjectionVfs* owner;
  sqlite3_vfs* base;
};

// pAppData of the shim VFS points at a VfsData owned by the FaultInjectionVfs.
VfsData* Data(sqlite3_vfs* v) { return static_cast<VfsData*>(v->pAppData); }

int VfsOpen(sqlite3_vfs* v, const char* name, sqlite3_file* f, int flags, int* out_flags) {
  VfsData* d = Data(v);
  auto* shim = Shim(f);
  shim->base.pMethods = nullptr;
  shim->owner = d->owner;
  const int rc = d->base->xOpen(d->base, name, shim->real(), flags, out_flags);
  if (rc == SQLITE_OK && shim->real()->pMethods != nullptr) shim->base.pMethods = &kShimMethods;
  return rc;
}
int VfsDelete(sqlite3_vfs* v, const char* name, int sync_dir) {
  return Data(v)->base->xDelete(Data(v)->base, name, sync_dir);
}
int VfsAccess(sqlite3_vfs* v, const char* name, int flags, int* out) {
  return Data(v)->base->xAccess(Data(v)->base, name, flags, out);
}
int VfsFullPathname(sqlite3_vfs* v, const char* name, int n, char* out) {
  return Data(v)->base->xFullPathname(Data(v)->base, name, n, out);
}
void* VfsDlOpen(sqlite3_vfs* v, const char* name) {
  return Data(v)->base->xDlOpen(Data(v)->base, name);
}
void VfsDlError(sqlite3_vfs* v, int n, char* msg) {
  Data(v)->base->xDlError(Data(v)->base, n, msg);
}
void (*VfsDlSym(sqlite3_vfs* v, void* h, const char* sym))(void) {
  return Data(v)->base->xDlSym(Data(v)->base, h, sym);
}
void VfsDlClose(sqlite3_vfs* v, void* h) { Data(v)->base->xDlClose(Data(v)->base, h); }
int VfsRandomness(sqlite3_vfs* v, int n, char* out) {
  return Data(v)->base->xRandomness(Data(v)->base, n, out);
}
int VfsSleep(sqlite3_vfs* v, int us) { return Data(v)->base->xSleep(Data(v)->base, us); }
int VfsCurrentTime(sqlite3_vfs* v, double* out) {
  return Data(v)->base->xCurrentTime(Data(v)->base, out);
}
int VfsGetLastError(sqlite3_vfs* v, int n, char* out) {
  return Data(v)->base->xGetLastError(Data(v)->base, n, out);
}
int VfsCurrentTimeInt64(sqlite3_vfs* v, sqlite3_int64* out) {
  return Data(v)->base->xCurrentTimeInt64(Data(v)->base, out);
}

}  // namespace

FaultInjectionVfs::FaultInjectionVfs(std::string name) : name_(std::move(name)) {}

StatusOr<std::unique_ptr<FaultInjectionVfs>> FaultInjectionVfs::Register(std::string name) {
  if (sqlite3_initialize() != SQLITE_OK) return InternalError("sqlite3_initialize failed");
  if (sqlite3_vfs_find(name.c_str()) != nullptr) {
    return InvalidArgumentError("VFS name already registered: " + name);
  }
  sqlite3_vfs* base = sqlite3_vfs_find(nullptr);
  if (base == nullptr || base->iVersion < 2) return InternalError("no usable default VFS");
  std::unique_ptr<FaultInjectionVfs> f(new FaultInjectionVfs(std::move(name)));
  auto* data = new VfsData{f.get(), base};
  sqlite3_vfs& v = f->vfs_;
  v.iVersion = 2;
  v.szOsFile = static_cast<int>(sizeof(ShimFile)) + base->szOsFile;
  v.mxPathname = base->mxPathname;
  v.zName = f->name_.c_str();
  v.pAppData = data;
  v.xOpen = VfsOpen;
  v.xDelete = VfsDelete;
  v.xAccess = VfsAccess;
  v.xFullPathname = VfsFullPathname;
  v.xDlOpen = VfsDlOpen;
  v.xDlError = VfsDlError;
  v.xDlSym = VfsDlSym;
  v.xDlClose = VfsDlClose;
  v.xRandomness = VfsRandomness;
  v.xSleep = VfsSleep;
  v.xCurrentTime = VfsCurrentTime;
  v.xGetLastError = VfsGetLastError;
  v.xCurrentTimeInt64 = VfsCurrentTimeInt64;
  if (sqlite3_vfs_register(&v, /*makeDflt=*/0) != SQLITE_OK) {
    delete data;
    return InternalError("sqlite3_vfs_register failed");
  }
  return f;
}

FaultInjectionVfs::~FaultInjectionVfs() {
  sqlite3_vfs_unregister(&vfs_);
  delete static_cast<VfsData*>(vfs_.pAppData);
}

void FaultInjectionVfs::FailWrites(Fault fault, uint64_t after) {
  writes_before_fault_.store(static_cast<int64_t>(after));
  write_fault_.store(static_cast<int>(fault));
}

void FaultInjectionVfs::FailSyncs(Fault fault) { sync_fault_.store(static_cast<int>(fault)); }

void FaultInjectionVfs::Clear() {
  write_fault_.store(0);
  sync_fault_.store(0);
  writes_before_fault_.store(0);
}

namespace {
int CodeFor(int fault, int io_code) {
  return fault == static_cast<int>(FaultInjectionVfs::Fault::kDiskFull) ? SQLITE_FULL : io_code;
}
}  // namespace

int FaultInjectionVfs::OnWrite() {
  writes_.fetch_add(1);
  const int fault = write_fault_.load();
  if (fault == 0) return SQLITE_OK;
  if (writes_before_fault_.fetch_sub(1) > 0) return SQLITE_OK;
  injected_.fetch_add(1);
  return CodeFor(fault, SQLITE_IOERR_WRITE);
}

int FaultInjectionVfs::OnSync() {
  syncs_.fetch_add(1);
  const int fault = sync_fault_.load();
  if (fault == 0) return SQLITE_OK;
  injected_.fetch_add(1);
  return CodeFor(fault, SQLITE_IOERR_FSYNC);
}

}  // namespace peat::store
