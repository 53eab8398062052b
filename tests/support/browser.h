// A real browser for tests: Debian's headless Chromium, driven through
// ChromeDriver's W3C WebDriver protocol (HTTP + JSON, spoken here with
// http_client.h and Value's JSON). Each Browser runs its own chromedriver
// on a free loopback port and one session; both end with the Browser.
#ifndef MPROC_TESTS_SUPPORT_BROWSER_H_
#define MPROC_TESTS_SUPPORT_BROWSER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/value.h"
#include "worker/process/subprocess.h"

namespace mproc {
namespace testing {

class Browser {
 public:
  // Starts chromedriver and a headless Chromium session whose profile
  // lives under `scratch_dir`. UNAVAILABLE if either does not start.
  static absl::StatusOr<std::unique_ptr<Browser>> Start(
      const std::string& scratch_dir);
  ~Browser();

  absl::Status Go(const std::string& url);
  // The text of the first element matching the CSS selector.
  absl::StatusOr<std::string> Text(const std::string& css);
  absl::Status Click(const std::string& css);
  absl::Status Type(const std::string& css, const std::string& text);
  // Runs `js` (a function body: `return ...;`) in the page; its result.
  absl::StatusOr<Value> Script(const std::string& js);
  // Runs `js` every 100 ms until it returns true; DEADLINE_EXCEEDED
  // (with the last result) after `timeout`.
  absl::Status AwaitTrue(const std::string& js,
                         absl::Duration timeout = absl::Seconds(20));
  // Saves a PNG of the window at `path`.
  absl::Status Screenshot(const std::string& path);

 private:
  Browser(std::unique_ptr<Popen> driver, std::string base)
      : driver_(std::move(driver)), base_(std::move(base)) {}
  // One WebDriver command on this session; its "value".
  absl::StatusOr<Value> Command(const std::string& method,
                                const std::string& path,
                                const Value& body = Value());
  absl::StatusOr<std::string> Element(const std::string& css);

  std::unique_ptr<Popen> driver_;
  const std::string base_;  // http://127.0.0.1:PORT
  std::string session_;
};

}  // namespace testing
}  // namespace mproc

#endif  // MPROC_TESTS_SUPPORT_BROWSER_H_
