// A minimal HTTP/1.1 client for tests: one request (Connection: close) to
// a loopback "http://127.0.0.1:PORT/path" URL, read until the server
// closes; a chunked body is joined.
#ifndef MPROC_TESTS_SUPPORT_HTTP_CLIENT_H_
#define MPROC_TESTS_SUPPORT_HTTP_CLIENT_H_

#include <string>
#include <vector>

namespace mproc {
namespace testing {

struct HttpReply {
  int status = 0;       // 0: no answer (could not connect, or not HTTP)
  std::string headers;  // the raw header lines
  std::string body;
};

// `method` `url` with `body` (sent with Content-Length) and extra
// `headers` ("Name: value" each; a "Host: ..." among them replaces the
// URL's).
HttpReply HttpRequest(const std::string& method, const std::string& url,
                      const std::string& body = "",
                      const std::vector<std::string>& headers = {});

// The "Authorization: Basic ..." header for `user` and `password`.
std::string BasicAuthHeader(const std::string& user,
                            const std::string& password);

}  // namespace testing
}  // namespace mproc

#endif  // MPROC_TESTS_SUPPORT_HTTP_CLIENT_H_
