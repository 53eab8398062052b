#include "cli/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace mproc {
namespace cli {
namespace {

std::string Seconds(double s) {
  if (!std::isfinite(s)) return "?";
  if (s < 60) return absl::StrCat(static_cast<int64_t>(std::ceil(s)), "s");
  const auto total = static_cast<int64_t>(std::ceil(s));
  return absl::StrCat(total / 60, "m", total % 60, "s");
}

}  // namespace

Progress::Progress(std::string what, int64_t total, int fd)
    : what_(std::move(what)),
      total_(std::max<int64_t>(total, 0)),
      fd_(fd),
      terminal_(isatty(fd) == 1),
      start_(absl::Now()) {}

std::string Progress::Line(int64_t done, int64_t total, absl::Duration elapsed,
                           int width) {
  const double fraction =
      total > 0 ? std::min(1.0, static_cast<double>(done) / total) : 1.0;
  const int filled = static_cast<int>(fraction * width);
  const double seconds = absl::ToDoubleSeconds(elapsed);
  const double rate = seconds > 0 ? done / seconds : 0;
  const double eta = rate > 0 ? (total - done) / rate : INFINITY;
  return absl::StrCat("[", std::string(filled, '#'),
                      std::string(width - filled, '.'), "] ", done, "/", total,
                      " ", static_cast<int>(fraction * 100), "% ",
                      static_cast<int64_t>(rate), "/s ETA ",
                      done >= total ? "0s" : Seconds(eta));
}

void Progress::Update(int64_t done) {
  const absl::Time now = absl::Now();
  if (terminal_) {
    if (now - last_ < absl::Milliseconds(100)) return;
    last_ = now;
    Write(absl::StrCat("\r", what_, " ", Line(done, total_, now - start_, 30)));
    return;
  }
  const int64_t tenth = total_ > 0 ? done * 10 / total_ : 10;
  if (tenth <= last_tenth_ && now - last_ < absl::Seconds(5)) return;
  last_tenth_ = std::max(last_tenth_, tenth);
  last_ = now;
  Write(absl::StrCat("mproc ", what_, ": ",
                     Line(done, total_, now - start_, 20), "\n"));
}

void Progress::Finish(int64_t done) {
  if (!terminal_ && done >= total_ && last_tenth_ >= 10) return;  // said
  const std::string line =
      Line(done, total_, absl::Now() - start_, terminal_ ? 30 : 20);
  Write(terminal_ ? absl::StrCat("\r", what_, " ", line, "\n")
                  : absl::StrCat("mproc ", what_, ": ", line, "\n"));
}

void Progress::Write(const std::string& text) {
  size_t at = 0;
  while (at < text.size()) {
    const ssize_t n = ::write(fd_, text.data() + at, text.size() - at);
    if (n <= 0) return;
    at += static_cast<size_t>(n);
  }
}

}  // namespace cli
}  // namespace mproc
