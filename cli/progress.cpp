#include "cli/progress.h"

namespace axon::cli {
namespace {

// "waiting for X: 1/3 ready (12s)" and "... (13s)" are the same news.
std::string without_elapsed(const std::string& s) {
  if (s.size() > 3 && s.back() == ')') {
    auto open = s.rfind(" (");
    if (open != std::string::npos && s.find_first_not_of("0123456789", open + 2) == s.size() - 2 &&
        s[s.size() - 2] == 's') {
      return s.substr(0, open);
    }
  }
  return s;
}

}  // namespace

Progress::Progress(Context& ctx)
    : ctx_(ctx),
      interactive_(ctx.err_is_tty && ctx.env("CI").empty() && ctx.env("TERM") != "dumb") {}

Progress::~Progress() {
  clear();
}

void Progress::clear() {
  if (interactive_ && shown_) {
    ctx_.err << "\r\x1b[K" << std::flush;
    shown_ = false;
  }
}

int Progress::fail(const Error& e) {
  clear();
  ctx_.err << "Error: " << e.str() << "\n";
  return kExitFailed;
}

client::InstallReporter Progress::reporter() {
  return client::InstallReporter{[this](const std::string& l) { line(l); },
                                 [this](const std::string& s) { status(s); }};
}

void Progress::line(const std::string& text) {
  clear();
  ctx_.out << text << "\n" << std::flush;
}

void Progress::status(const std::string& text) {
  if (interactive_) {
    ctx_.err << "\r\x1b[K⌛ " << text << std::flush;
    shown_ = true;
    return;
  }
  std::string key = without_elapsed(text);
  if (key == last_) return;
  last_ = key;
  ctx_.err << text << "\n" << std::flush;
}

}  // namespace axon::cli
