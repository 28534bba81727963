#include "commands/policy/common.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "cli/output.h"

namespace axon::commands::policy_cli {
namespace {

std::string read_one(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw cli::UsageError("cannot read " + path + ": " + std::strerror(errno));
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw cli::UsageError("cannot read " + path + ": " + std::strerror(errno));
  return ss.str();
}

}  // namespace

std::vector<InputFile> read_inputs(const std::vector<std::string>& paths) {
  std::vector<InputFile> out;
  for (const auto& p : paths) {
    std::error_code ec;
    if (std::filesystem::is_directory(p, ec)) {
      std::vector<std::string> files;
      for (const auto& e : std::filesystem::directory_iterator(p, ec)) {
        auto ext = e.path().extension().string();
        if (e.is_regular_file() && (ext == ".yaml" || ext == ".yml" || ext == ".json")) {
          files.push_back(e.path().string());
        }
      }
      if (ec) throw cli::UsageError("cannot list " + p + ": " + ec.message());
      std::sort(files.begin(), files.end());
      if (files.empty()) throw cli::UsageError(p + ": no *.yaml, *.yml or *.json files in it");
      for (auto& f : files) out.push_back(InputFile{f, read_one(f)});
      continue;
    }
    out.push_back(InputFile{p, read_one(p)});
  }
  return out;
}

std::string fix_command(const std::string& file) { return "axon policy fix -f " + file + " -w"; }

std::string problem_line(const policy::Problem& p, bool color) {
  std::string line = policy::format(p);
  if (p.fixable && !p.file.empty()) line += "; run: " + fix_command(p.file);
  if (color) {
    cli::Style s(true);
    std::string sev(policy::severity_name(p.severity));
    std::string colored = p.severity == policy::Severity::error ? s.red(sev) : s.yellow(sev);
    line = colored + line.substr(sev.size());
  }
  return line;
}

nlohmann::ordered_json problem_json(const policy::Problem& p) {
  nlohmann::ordered_json j = {
      {"severity", std::string(policy::severity_name(p.severity))},
      {"file", p.file},
      {"document", p.document},
      {"line", p.line},
      {"object", p.object},
      {"path", p.path},
      {"message", p.message},
      {"fix", p.fix},
      {"fixable", p.fixable},
  };
  if (p.fixable && !p.file.empty()) j["fixCommand"] = fix_command(p.file);
  return j;
}

void write_file(const std::string& path, const std::string& text) {
  std::string tmp = path + ".axon-tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw cli::UsageError("cannot write " + tmp + ": " + std::strerror(errno));
    out << text;
    out.flush();
    if (!out) throw cli::UsageError("cannot write " + tmp + ": " + std::strerror(errno));
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) (void)::chmod(tmp.c_str(), st.st_mode & 07777);
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    int e = errno;
    std::remove(tmp.c_str());
    throw cli::UsageError("cannot replace " + path + ": " + std::strerror(e));
  }
}

}  // namespace axon::commands::policy_cli
