#pragma once
// What /proc tells about a process: its resident memory and open descriptors (tests, soak).

#include <sys/types.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace watchgate::test {

// Resident memory of `pid` in KiB, 0 when it cannot be read.
inline long resident_kib(pid_t pid) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    std::string key;
    long kib = 0;
    while (status >> key)
        if (key == "VmRSS:") {
            status >> kib;
            break;
        }
    return kib;
}

// Open file descriptors of `pid`.
inline std::size_t open_fds(pid_t pid) {
    std::size_t count = 0;
    std::error_code ignored;
    for (auto it = std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ignored);
         it != std::filesystem::directory_iterator(); ++it)
        ++count;
    return count;
}

}  // namespace watchgate::test
