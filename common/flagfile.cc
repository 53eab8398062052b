#include "common/flagfile.h"

#include <fstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace mproc {
absl::Status ReadFlagfile(const std::string& path,
                          std::vector<std::string>* out) {
  std::ifstream in(path);
  if (!in) {
    return absl::InvalidArgumentError(
        absl::StrCat("--flagfile ", path, ": cannot be read"));
  }
  int number = 0;
  for (std::string line; std::getline(in, line);) {
    ++number;
    const std::string text(absl::StripAsciiWhitespace(line));
    if (text.empty() || text[0] == '#') continue;
    auto bad = [&](absl::string_view why) {
      return absl::InvalidArgumentError(
          absl::StrCat("--flagfile ", path, " line ", number, ": ", why));
    };
    if (!absl::StartsWith(text, "--") || text.size() == 2) {
      return bad("want one flag per line, e.g. --listen=127.0.0.1:50051");
    }
    // "--name=value" stays one argument (the value may hold spaces);
    // "--name value" is split at the first space.
    const size_t eq = text.find('=');
    const size_t space = text.find_first_of(" \t");
    std::string name = text;
    std::string value;
    const bool split =
        space != std::string::npos && (eq == std::string::npos || space < eq);
    if (split) {
      name = text.substr(0, space);
      value = std::string(absl::StripAsciiWhitespace(text.substr(space)));
    }
    if (name == "--flagfile" || absl::StartsWith(name, "--flagfile=")) {
      return bad("a flagfile may not name another");
    }
    out->push_back(name);
    if (split) out->push_back(value);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> ExpandFlagfiles(
    const std::vector<std::string>& args) {
  std::vector<std::string> out;
  bool flags_done = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (flags_done || arg == "--") {
      flags_done = true;
      out.push_back(arg);
      continue;
    }
    std::string path;
    if (arg == "--flagfile") {
      if (i + 1 >= args.size()) {
        return absl::InvalidArgumentError("flag '--flagfile' needs a file");
      }
      path = args[++i];
    } else if (absl::StartsWith(arg, "--flagfile=")) {
      path = arg.substr(11);
    } else {
      out.push_back(arg);
      continue;
    }
    if (absl::Status s = ReadFlagfile(path, &out); !s.ok()) return s;
  }
  return out;
}

}  // namespace mproc
