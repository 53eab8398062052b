// The RocksDB environment of the manager's journal (journal_db.h): the
// default one, except that RocksDB's write-ahead log files are written
// through a shared memory mapping (RocksDB's PosixMmapFile) instead of with
// a write(2) per record.
//
// Why: the journal writes one record per change, on the thread that
// answers, and must have it in the OS before the answer goes out. A record
// copied into a MAP_SHARED mapping of the log file is in the OS's page
// cache as soon as it is copied — it survives the process being killed,
// and fdatasync on any descriptor of the file writes it to the disk — at
// the cost of a memcpy instead of a system call (on this project's 2-core
// machine, 1.0 µs instead of 1.9 µs per write; bench/compare_durability).
//
// The mapped file grows by regions that are allocated first (fallocate),
// so a full disk or a file-size limit fails the write that needs the new
// region, before the record counts as written; a killed manager leaves
// the last region's unused tail as zeros, which RocksDB's log reader skips.
// On a filesystem RocksDB does not map files on (it checks for ext4, xfs
// and tmpfs), logs are written with write(2) as before. The on-disk format
// is RocksDB's either way.
#ifndef MPROC_SERVER_STORE_MAPPED_LOG_ENV_H_
#define MPROC_SERVER_STORE_MAPPED_LOG_ENV_H_

namespace rocksdb {
class Env;
}  // namespace rocksdb

namespace mproc {

// One environment for the whole process, never destroyed (RocksDB keeps
// pointers to it in every database opened with it).
rocksdb::Env* MappedLogEnv();

}  // namespace mproc

#endif  // MPROC_SERVER_STORE_MAPPED_LOG_ENV_H_
