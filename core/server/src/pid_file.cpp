#include <watchgate/core/server/pid_file.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace watchgate::core {

namespace {

std::runtime_error failure(const std::filesystem::path& path, const std::string& what) {
    return std::runtime_error("pid_file " + path.string() + ": " + what);
}

}  // namespace

PidFile::PidFile(std::filesystem::path path) : path_(std::move(path)) {
    const std::string text = std::to_string(::getpid()) + "\n";
    // Written beside and renamed over: a reader never sees half a number.
    const auto partial = path_.string() + ".partial";
    const int fd = ::open(partial.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0) throw failure(path_, std::string("cannot write: ") + std::strerror(errno));
    const bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    const int error = errno;
    ::close(fd);
    if (!written || ::rename(partial.c_str(), path_.c_str()) != 0) {
        ::unlink(partial.c_str());
        throw failure(path_, std::string("cannot write: ") + std::strerror(written ? errno : error));
    }
}

PidFile::~PidFile() {
    // Another gateway may have taken the file over since: its pid stays.
    try {
        if (read_pid_file(path_) == ::getpid()) ::unlink(path_.c_str());
    } catch (const std::exception&) {
    }
}

pid_t read_pid_file(const std::filesystem::path& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) throw failure(path, std::string("cannot read: ") + std::strerror(errno));
    char text[32] = {};
    const ssize_t n = ::read(fd, text, sizeof text - 1);
    ::close(fd);
    long pid = 0;
    std::size_t digits = 0;
    for (; n > 0 && digits < static_cast<std::size_t>(n) && text[digits] >= '0' && text[digits] <= '9'; ++digits)
        pid = pid * 10 + (text[digits] - '0');
    const bool rest_blank = n > 0 && (static_cast<std::size_t>(n) == digits || text[digits] == '\n');
    if (digits == 0 || digits > 9 || !rest_blank || pid <= 1)
        throw failure(path, "expected a process id (digits and a newline)");
    return static_cast<pid_t>(pid);
}

}  // namespace watchgate::core
