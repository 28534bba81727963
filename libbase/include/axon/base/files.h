// Reading the files a user names, and replacing one in place.
#pragma once

#include <string>
#include <vector>

#include "axon/base/result.h"

namespace axon {

struct TextFile {
  std::string path;  // as the user named it, or a file of a directory they named
  std::string text;
};

// Reads every path; a directory means its *.yaml, *.yml and *.json files
// (sorted). An unreadable path, or a directory without such files, is an
// error naming it.
Result<std::vector<TextFile>> read_manifest_files(const std::vector<std::string>& paths);

// Replaces a file's content atomically: a temporary file beside it (with
// the file's mode), then rename.
Status replace_file(const std::string& path, const std::string& text);

// An API socket's access, as Cilium's (api.SetDefaultPermissions): mode
// 0660, owned by root and the group `group` when it exists (else root's).
// A socket is only connected to by those who may write it.
Status restrict_socket(const std::string& path, const std::string& group = "axon");

}  // namespace axon
