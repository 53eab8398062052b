// What every mproc benchmark prints: one JSON object per measurement, read
// by the bench/compare_*.py runners next to the anchors' rows:
//   {"system": "mproc", "transport": ..., "workload": ..., "ops_per_s": ...,
//    "p50_us": ..., "p99_us": ...}
#ifndef MPROC_BENCH_REPORT_H_
#define MPROC_BENCH_REPORT_H_

#include <algorithm>
#include <chrono>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace mproc {
namespace bench {

using Clock = std::chrono::steady_clock;

inline double Seconds(Clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

// Prints the row; with latencies (µs, sorted here) adds p50 and p99.
inline void PrintRow(absl::string_view transport, absl::string_view workload,
                     double ops_per_s, std::vector<double>* latencies_us) {
  std::string line = absl::StrCat("{\"system\": \"mproc\", \"transport\": \"",
                                  transport, "\", \"workload\": \"", workload,
                                  "\", \"ops_per_s\": ", ops_per_s);
  if (latencies_us != nullptr && !latencies_us->empty()) {
    std::sort(latencies_us->begin(), latencies_us->end());
    auto at = [&](double q) {
      return (
          *latencies_us)[static_cast<size_t>(q * (latencies_us->size() - 1))];
    };
    absl::StrAppend(&line, ", \"p50_us\": ", at(0.5),
                    ", \"p99_us\": ", at(0.99));
  }
  std::cout << line << "}" << std::endl;
}

}  // namespace bench
}  // namespace mproc

#endif  // MPROC_BENCH_REPORT_H_
