// The dashboard's pages, served from the binary (no internet needed): the
// live page at / (plain HTML, CSS and JavaScript written here; it polls
// the JSON API of dashboard_api.h once a second and draws its charts on
// canvases) and the login form at /login.
#ifndef MPROC_SERVER_RPC_DASHBOARD_PAGE_H_
#define MPROC_SERVER_RPC_DASHBOARD_PAGE_H_

#include <string>

#include "absl/strings/string_view.h"

namespace mproc {

absl::string_view DashboardPage();
// The login form; `error` (plain text) shown above it if not empty.
std::string LoginPage(absl::string_view error);

}  // namespace mproc

#endif  // MPROC_SERVER_RPC_DASHBOARD_PAGE_H_
