#pragma once
// `pid_file:`: the running gateway's process id in a file, for `watchgate reload` and service
// managers. Written at start, removed at exit (only while it still names this process).

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>

namespace watchgate::core {

class PidFile {
public:
    // Writes this process's id into `path` (replacing the file). Throws std::runtime_error naming
    // the file and why when it cannot.
    explicit PidFile(std::filesystem::path path);
    ~PidFile();
    PidFile(const PidFile&) = delete;
    PidFile& operator=(const PidFile&) = delete;

private:
    std::filesystem::path path_;
};

// The process id in `path`. Throws std::runtime_error naming the file when it cannot be read or
// holds no process id.
pid_t read_pid_file(const std::filesystem::path& path);

}  // namespace watchgate::core
