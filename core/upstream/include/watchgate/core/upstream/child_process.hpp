#pragma once
// A child process started without a shell, its stdin/stdout/stderr connected to pipes.

#include <sys/types.h>

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace watchgate::core {

class ChildProcess {
public:
    // Starts `command` (program looked up in PATH, then arguments) with `env` merged over the
    // current environment, in `cwd` when given. Throws std::runtime_error naming the program and
    // the reason (not found, not executable, bad folder).
    static ChildProcess spawn(const std::vector<std::string>& command, const std::map<std::string, std::string>& env,
                              const std::optional<std::filesystem::path>& cwd);

    ChildProcess(ChildProcess&& other) noexcept;
    ChildProcess& operator=(ChildProcess&& other) noexcept;
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;
    ~ChildProcess();  // kills and reaps a child still running

    pid_t pid() const { return pid_; }
    // The parent's ends of the pipes; take() hands ownership to the caller (-1 afterwards).
    int take_stdin() { return std::exchange(stdin_fd_, -1); }
    int take_stdout() { return std::exchange(stdout_fd_, -1); }
    int take_stderr() { return std::exchange(stderr_fd_, -1); }

    void signal(int signal_number) const;
    // The wait status once the child has exited (reaped now), or nullopt while it runs.
    std::optional<int> try_wait();
    bool exited() const { return status_.has_value(); }

private:
    ChildProcess() = default;
    pid_t pid_ = -1;
    int stdin_fd_ = -1;
    int stdout_fd_ = -1;
    int stderr_fd_ = -1;
    std::optional<int> status_;
};

// "exited with status 3", "killed by signal 9 (SIGKILL)".
std::string describe_wait_status(int status);

}  // namespace watchgate::core
