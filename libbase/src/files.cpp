#include "axon/base/files.h"

#include <grp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace axon {
namespace {

Result<std::string> read_one(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{"cannot read " + path + ": " + std::strerror(errno)};
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return Error{"cannot read " + path + ": " + std::strerror(errno)};
  return ss.str();
}

}  // namespace

Result<std::vector<TextFile>> read_manifest_files(const std::vector<std::string>& paths) {
  std::vector<TextFile> out;
  for (const auto& p : paths) {
    std::error_code ec;
    std::vector<std::string> files;
    if (std::filesystem::is_directory(p, ec)) {
      for (const auto& e : std::filesystem::directory_iterator(p, ec)) {
        auto ext = e.path().extension().string();
        if (e.is_regular_file() && (ext == ".yaml" || ext == ".yml" || ext == ".json")) {
          files.push_back(e.path().string());
        }
      }
      if (ec) return Error{"cannot list " + p + ": " + ec.message()};
      std::sort(files.begin(), files.end());
      if (files.empty()) return Error{p + ": no *.yaml, *.yml or *.json files in it"};
    } else {
      files.push_back(p);
    }
    for (auto& f : files) {
      auto text = read_one(f);
      if (!text) return text.error();
      out.push_back(TextFile{f, std::move(*text)});
    }
  }
  return out;
}

Status replace_file(const std::string& path, const std::string& text) {
  std::string tmp = path + ".axon-tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return Error{"cannot write " + tmp + ": " + std::strerror(errno)};
    out << text;
    out.flush();
    if (!out) return Error{"cannot write " + tmp + ": " + std::strerror(errno)};
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) (void)::chmod(tmp.c_str(), st.st_mode & 07777);
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    int e = errno;
    std::remove(tmp.c_str());
    return Error{"cannot replace " + path + ": " + std::strerror(e)};
  }
  return {};
}

Status restrict_socket(const std::string& path, const std::string& group) {
  if (::chmod(path.c_str(), 0660) != 0) return Error{"cannot restrict " + path + ": " + std::strerror(errno)};
  gid_t gid = 0;
  if (!group.empty()) {
    std::vector<char> buf(4096);
    struct group g {};
    struct group* found = nullptr;
    if (::getgrnam_r(group.c_str(), &g, buf.data(), buf.size(), &found) == 0 && found != nullptr) gid = found->gr_gid;
  }
  if (::chown(path.c_str(), 0, gid) != 0 && (::geteuid() == 0 || errno != EPERM))
    return Error{"cannot give " + path + " to root: " + std::strerror(errno)};
  return {};
}

}  // namespace axon
