// Progress of a long command on stderr: on a terminal a bar redrawn in
// place (done/total, percent, rate, ETA), at most ten times a second;
// otherwise a plain line at every tenth of the way (and at most every
// 5 s), so logs stay readable.
#ifndef MPROC_CLI_PROGRESS_H_
#define MPROC_CLI_PROGRESS_H_

#include <cstdint>
#include <string>

#include "absl/time/time.h"

namespace mproc {
namespace cli {

class Progress {
 public:
  // `what` names the work ("map"); `total` items; `fd` where it goes.
  Progress(std::string what, int64_t total, int fd = 2);
  // Reports `done` items finished (non-decreasing).
  void Update(int64_t done);
  // The final report (a newline after the bar).
  void Finish(int64_t done);

  // The text of one report, for tests: "[####....] 40/100 40% 12/s ETA 5s"
  // with `width` bar cells.
  static std::string Line(int64_t done, int64_t total, absl::Duration elapsed,
                          int width);

 private:
  void Write(const std::string& text);

  const std::string what_;
  const int64_t total_;
  const int fd_;
  const bool terminal_;
  const absl::Time start_;
  absl::Time last_ = absl::InfinitePast();
  int64_t last_tenth_ = 0;
};

}  // namespace cli
}  // namespace mproc

#endif  // MPROC_CLI_PROGRESS_H_
