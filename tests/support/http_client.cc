#include "tests/support/http_client.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "tests/support/os_probes.h"

namespace mproc {
namespace testing {

HttpReply HttpRequest(const std::string& method, const std::string& url,
                      const std::string& body,
                      const std::vector<std::string>& headers) {
  HttpReply reply;
  const std::string rest = url.substr(url.find("://") + 3);
  const size_t slash = rest.find('/');
  const std::string host_port = rest.substr(0, slash);
  const std::string path =
      slash == std::string::npos ? "/" : rest.substr(slash);
  const int port = std::atoi(host_port.c_str() + host_port.rfind(':') + 1);
  const int fd = ConnectLoopback(port);
  if (fd < 0) return reply;
  bool named_host = false;
  for (const std::string& h : headers) {
    named_host |= absl::StartsWith(absl::AsciiStrToLower(h), "host:");
  }
  std::string request = absl::StrCat(method, " ", path, " HTTP/1.1\r\n");
  if (!named_host) absl::StrAppend(&request, "Host: ", host_port, "\r\n");
  absl::StrAppend(&request, "Connection: close\r\n");
  for (const std::string& h : headers) absl::StrAppend(&request, h, "\r\n");
  if (!body.empty() || method == "POST") {
    absl::StrAppend(&request, "Content-Length: ", body.size(), "\r\n");
  }
  absl::StrAppend(&request, "\r\n", body);
  for (size_t sent = 0; sent < request.size();) {
    const ssize_t n = write(fd, request.data() + sent, request.size() - sent);
    if (n <= 0) break;
    sent += static_cast<size_t>(n);
  }
  // Until the body is complete (by its Content-Length, or the last chunk)
  // or the server closes: some keep the connection open regardless.
  std::string raw;
  char buf[65536];
  ssize_t n;
  while ((n = read(fd, buf, sizeof(buf))) > 0) {
    raw.append(buf, n);
    const size_t head_end = raw.find("\r\n\r\n");
    if (head_end == std::string::npos) continue;
    const std::string head = absl::AsciiStrToLower(raw.substr(0, head_end));
    const size_t length = head.find("content-length:");
    if (length != std::string::npos &&
        raw.size() - head_end - 4 >=
            std::strtoul(head.c_str() + length + 15, nullptr, 10)) {
      break;
    }
    if (absl::StrContains(head, "transfer-encoding: chunked") &&
        absl::EndsWith(raw, "\r\n0\r\n\r\n")) {
      break;
    }
  }
  close(fd);
  const size_t space = raw.find(' ');
  const size_t end = raw.find("\r\n\r\n");
  if (space == std::string::npos || end == std::string::npos) return reply;
  reply.status = std::atoi(raw.c_str() + space + 1);
  reply.headers = raw.substr(0, end);
  reply.body = raw.substr(end + 4);
  if (absl::StrContains(absl::AsciiStrToLower(reply.headers),
                        "transfer-encoding: chunked")) {
    std::string joined;
    size_t at = 0;
    for (;;) {
      const size_t line = reply.body.find("\r\n", at);
      if (line == std::string::npos) break;
      const size_t n = std::strtoul(reply.body.c_str() + at, nullptr, 16);
      if (n == 0) break;
      joined.append(reply.body, line + 2, n);
      at = line + 2 + n + 2;
    }
    reply.body = std::move(joined);
  }
  return reply;
}

std::string BasicAuthHeader(const std::string& user,
                            const std::string& password) {
  return "Authorization: Basic " + absl::Base64Escape(user + ":" + password);
}

}  // namespace testing
}  // namespace mproc
