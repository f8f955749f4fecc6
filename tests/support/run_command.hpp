#pragma once
// Runs a shell command line as a user would and returns its exit code and output (stdout and
// stderr together).

#include <sys/wait.h>

#include <cstdio>
#include <string>
#include <utility>

namespace watchgate::test {

inline std::pair<int, std::string> run_command(const std::string& command_line) {
    FILE* pipe = ::popen((command_line + " 2>&1").c_str(), "r");
    if (!pipe) return {-1, "popen failed"};
    std::string output;
    char buffer[4096];
    while (std::size_t n = std::fread(buffer, 1, sizeof buffer, pipe)) output.append(buffer, n);
    const int status = ::pclose(pipe);
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

}  // namespace watchgate::test
