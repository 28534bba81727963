// Facts about this build, generated at build time (cmake/WriteBuildInfo.cmake).
#pragma once

namespace axon::build_info {
extern const char* const version;     // "0.1.0"
extern const char* const git_commit;  // "1a2b3c4d5e6f" (+ "-dirty"), or "unknown"
}  // namespace axon::build_info
