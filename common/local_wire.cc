#include "common/local_wire.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstring>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace mproc {

std::string WireHostIdentity() {
  std::ifstream boot("/proc/sys/kernel/random/boot_id");
  std::string boot_id;
  struct stat pid_namespace {};
  if (!std::getline(boot, boot_id) ||
      ::stat("/proc/self/ns/pid", &pid_namespace) != 0) {
    return "";
  }
  return absl::StrCat(absl::StripAsciiWhitespace(boot_id), "/",
                      pid_namespace.st_ino);
}

bool AppendWireMessage(WireKind kind,
                       const google::protobuf::MessageLite& payload,
                       std::string* out) {
  const size_t length = payload.ByteSizeLong();
  if (length > kMaxWirePayload) return false;
  const size_t start = out->size();
  out->resize(start + kLocalWireHeaderBytes + length);
  char* header = &(*out)[start];
  for (int i = 0; i < 4; ++i) {
    header[i] = static_cast<char>((length >> (8 * i)) & 0xff);
  }
  header[4] = static_cast<char>(kind);
  payload.SerializeWithCachedSizesToArray(
      reinterpret_cast<uint8_t*>(header + kLocalWireHeaderBytes));
  return true;
}

WireHeader ParseWireHeader(absl::string_view bytes) {
  WireHeader header;
  for (int i = 0; i < 4; ++i) {
    header.length |= static_cast<uint32_t>(static_cast<uint8_t>(bytes[i]))
                     << (8 * i);
  }
  header.kind = static_cast<WireKind>(static_cast<uint8_t>(bytes[4]));
  return header;
}

bool IsWireKind(uint8_t kind) {
  return kind >= static_cast<uint8_t>(WireKind::kHello) &&
         kind <= static_cast<uint8_t>(WireKind::kPing);
}

void WireInBuffer::Consume(size_t n) {
  begin_ += n;
  if (begin_ == end_) begin_ = end_ = 0;
}

char* WireInBuffer::Reserve(size_t n) {
  if (capacity_ - end_ < n) {
    const size_t live = size();
    if (begin_ > 0 && capacity_ - live >= n) {
      std::memmove(data_.get(), data(), live);
    } else {
      const size_t capacity = std::max(capacity_ * 2, live + n);
      std::unique_ptr<char[]> bigger(new char[capacity]);
      if (live > 0) std::memcpy(bigger.get(), data(), live);
      data_ = std::move(bigger);
      capacity_ = capacity;
    }
    begin_ = 0;
    end_ = live;
  }
  return data_.get() + end_;
}

void WireInBuffer::MaybeShrink(size_t keep) {
  if (size() == 0 && capacity_ > keep) {
    data_.reset();
    capacity_ = begin_ = end_ = 0;
  }
}

}  // namespace mproc
