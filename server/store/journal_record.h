// How one Journal::Write is recorded in the manager's log (mapped_log.h)
// and later applied to its database (journal_db.h).
//
// A record: [u32 prefix length][prefix][u32 change count], then for each
// change [u8 type][u32 key length][key][u32 value length][value], lengths
// little-endian. Keys are the object's (prefix + key in the database).
#ifndef MPROC_SERVER_STORE_JOURNAL_RECORD_H_
#define MPROC_SERVER_STORE_JOURNAL_RECORD_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "server/object_log.h"

namespace rocksdb {
class WriteBatch;
}  // namespace rocksdb

namespace mproc {

// Appends the record of `changes` to the object keyed by `prefix` to *out.
void AppendJournalRecord(absl::string_view prefix,
                         absl::Span<const LogChange> changes, std::string* out);

// Adds the changes `record` holds to *batch. DATA_LOSS if it is not a
// record; *batch may then hold some of its changes.
absl::Status AddJournalRecord(absl::string_view record,
                              rocksdb::WriteBatch* batch);

// The first key after every key starting with `prefix`.
std::string PrefixEnd(absl::string_view prefix);

}  // namespace mproc

#endif  // MPROC_SERVER_STORE_JOURNAL_RECORD_H_
