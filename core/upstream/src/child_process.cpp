#include <watchgate/core/upstream/child_process.hpp>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <utility>

extern char** environ;

namespace watchgate::core {

namespace {

void close_fd(int& fd) {
    if (fd >= 0) ::close(fd);
    fd = -1;
}

struct Pipe {
    int read = -1;
    int write = -1;
    Pipe() {
        int fds[2];
        if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
        read = fds[0];
        write = fds[1];
    }
    ~Pipe() {
        close_fd(read);
        close_fd(write);
    }
};

}  // namespace

std::string describe_wait_status(int status) {
    if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
    if (WIFSIGNALED(status)) {
        const int number = WTERMSIG(status);
        const char* name = sigabbrev_np(number);
        return "killed by signal " + std::to_string(number) + (name ? std::string(" (SIG") + name + ")" : "");
    }
    return "stopped (status " + std::to_string(status) + ")";
}

ChildProcess ChildProcess::spawn(const std::vector<std::string>& command, const std::map<std::string, std::string>& env,
                                 const std::optional<std::filesystem::path>& cwd) {
    if (command.empty()) throw std::runtime_error("no command given");
    if (cwd && !std::filesystem::is_directory(*cwd))
        throw std::runtime_error("working folder " + cwd->string() + " does not exist");

    // Environment: the gateway's, with the configured variables replacing or adding.
    std::map<std::string, std::string> merged;
    for (char** entry = environ; entry && *entry; ++entry) {
        std::string_view text(*entry);
        auto equals = text.find('=');
        if (equals != std::string_view::npos)
            merged[std::string(text.substr(0, equals))] = std::string(text.substr(equals + 1));
    }
    for (const auto& [key, value] : env) merged[key] = value;
    std::vector<std::string> env_strings;
    env_strings.reserve(merged.size());
    for (const auto& [key, value] : merged) env_strings.push_back(key + "=" + value);
    std::vector<char*> envp;
    for (auto& text : env_strings) envp.push_back(text.data());
    envp.push_back(nullptr);
    std::vector<std::string> args = command;
    std::vector<char*> argv;
    for (auto& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);

    Pipe in, out, err;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in.read, STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&actions, out.write, STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, err.write, STDERR_FILENO);
    if (cwd) posix_spawn_file_actions_addchdir_np(&actions, cwd->c_str());
    posix_spawnattr_t attributes;
    posix_spawnattr_init(&attributes);
    // Own process group: a Ctrl-C at the terminal reaches the gateway, which stops upstreams in order.
    posix_spawnattr_setpgroup(&attributes, 0);
    sigset_t defaults;
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGPIPE);
    sigaddset(&defaults, SIGTERM);
    sigaddset(&defaults, SIGINT);
    posix_spawnattr_setsigdefault(&attributes, &defaults);
    sigset_t none;
    sigemptyset(&none);
    posix_spawnattr_setsigmask(&attributes, &none);
    posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);

    // The search uses the child's PATH when the config sets one.
    std::string program = command[0];
    pid_t pid = -1;
    int error = 0;
    if (program.find('/') == std::string::npos && env.contains("PATH")) {
        error = ENOENT;
        std::string_view path = env.at("PATH");
        while (error == ENOENT || error == EACCES) {
            auto colon = path.find(':');
            std::string candidate = std::string(path.substr(0, colon)) + "/" + program;
            if (::access(candidate.c_str(), X_OK) == 0) {
                error = posix_spawn(&pid, candidate.c_str(), &actions, &attributes, argv.data(), envp.data());
                break;
            }
            if (colon == std::string_view::npos) break;
            path.remove_prefix(colon + 1);
        }
    } else {
        error = posix_spawnp(&pid, program.c_str(), &actions, &attributes, argv.data(), envp.data());
    }
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
    if (error != 0) {
        std::string why = error == ENOENT ? "not found" : error == EACCES ? "not executable" : std::strerror(error);
        throw std::runtime_error("cannot start '" + program + "': " + why);
    }
    ChildProcess child;
    child.pid_ = pid;
    child.stdin_fd_ = std::exchange(in.write, -1);
    child.stdout_fd_ = std::exchange(out.read, -1);
    child.stderr_fd_ = std::exchange(err.read, -1);
    return child;
}

ChildProcess::ChildProcess(ChildProcess&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      stdin_fd_(std::exchange(other.stdin_fd_, -1)),
      stdout_fd_(std::exchange(other.stdout_fd_, -1)),
      stderr_fd_(std::exchange(other.stderr_fd_, -1)),
      status_(std::exchange(other.status_, std::nullopt)) {}

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept {
    if (this != &other) {
        this->~ChildProcess();
        new (this) ChildProcess(std::move(other));
    }
    return *this;
}

ChildProcess::~ChildProcess() {
    close_fd(stdin_fd_);
    close_fd(stdout_fd_);
    close_fd(stderr_fd_);
    if (pid_ > 0 && !status_) {
        ::kill(-pid_, SIGKILL);
        int status = 0;
        ::waitpid(pid_, &status, 0);
    }
}

void ChildProcess::signal(int signal_number) const {
    // The whole process group: wrappers (npx, uvx, sh -c) must not leave the real server behind.
    if (pid_ > 0 && !status_) ::kill(-pid_, signal_number);
}

std::optional<int> ChildProcess::try_wait() {
    if (status_ || pid_ <= 0) return status_;
    int status = 0;
    pid_t result = ::waitpid(pid_, &status, WNOHANG);
    if (result == pid_)
        status_ = status;
    else if (result < 0 && errno == ECHILD)
        status_ = 0;  // reaped elsewhere (SIGCHLD ignored): gone
    return status_;
}

}  // namespace watchgate::core
