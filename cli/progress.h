// Progress of long operations: on an interactive terminal a status line
// redrawn in place on stderr; otherwise (a pipe, a file, CI=true) plain
// lines, each status printed once.
#pragma once

#include <memory>
#include <string>

#include "axon/base/result.h"
#include "axon/client/installer.h"
#include "cli/context.h"

namespace axon::cli {

class Progress {
 public:
  explicit Progress(Context& ctx);
  ~Progress();

  // A result worth keeping, on stdout ("daemonset.apps/axon-agent created").
  void line(const std::string& text);
  // What is happening now, on stderr; replaced by the next status.
  void status(const std::string& text);
  // Clears a redrawn status line.
  void clear();
  // Clears the status, prints "Error: <e>" and returns kExitFailed.
  int fail(const Error& e);
  // An installer reporter that prints through this progress.
  client::InstallReporter reporter();

  bool interactive() const { return interactive_; }

 private:
  Context& ctx_;
  bool interactive_;
  bool shown_ = false;
  std::string last_;
};

}  // namespace axon::cli
