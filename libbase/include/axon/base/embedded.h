// Files compiled into the binary (cmake/EmbedFiles.cmake): the web UI's
// page, script and style sheet.
#pragma once

#include <span>
#include <string_view>

namespace axon {

struct EmbeddedFile {
  std::string_view path;          // relative to the embedded folder: "app.js"
  std::string_view content_type;  // "text/javascript; charset=utf-8"
  std::string_view bytes;
};

}  // namespace axon
