#include "rotating_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <stdexcept>

namespace watchgate::audit {

namespace {

std::runtime_error failure(const std::string& what, const std::string& path) {
    return std::runtime_error(what + " " + path + ": " + std::strerror(errno));
}

// mkdir -p for the folders above `path`, 0700 when created.
void create_parents(const std::string& path) {
    for (std::size_t at = path.find('/', 1); at != std::string::npos; at = path.find('/', at + 1)) {
        const std::string folder = path.substr(0, at);
        if (::mkdir(folder.c_str(), 0700) != 0 && errno != EEXIST) throw failure("cannot create the folder", folder);
    }
}

}  // namespace

std::shared_ptr<std::mutex> RotatingFile::lock_for(const std::string& path) {
    // Weak: a file no instance writes any more leaves no lock behind.
    static std::mutex registry_mutex;
    static std::map<std::string, std::weak_ptr<std::mutex>> registry;
    std::lock_guard lock(registry_mutex);
    std::erase_if(registry, [](const auto& entry) { return entry.second.expired(); });
    auto& slot = registry[path];
    auto shared = slot.lock();
    if (!shared) slot = shared = std::make_shared<std::mutex>();
    return shared;
}

RotatingFile::~RotatingFile() { close(); }

void RotatingFile::close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
}

void RotatingFile::open() {
    create_parents(options_.path);
    fd_ = ::open(options_.path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd_ < 0) throw failure("cannot open", options_.path);
    struct stat info {};
    ::fstat(fd_, &info);
    regular_ = S_ISREG(info.st_mode);
    size_ = regular_ ? static_cast<std::uint64_t>(info.st_size) : 0;
    if (size_ == 0 && !options_.header.empty()) {
        try {
            append(options_.header);
        } catch (...) {
            close();  // the next attempt starts the file afresh, header first
            throw;
        }
    }
}

void RotatingFile::rotate() {
    close();
    const auto numbered = [&](int n) { return options_.path + "." + std::to_string(n); };
    if (options_.backups == 0) {
        ::unlink(options_.path.c_str());
    } else {
        ::unlink(numbered(options_.backups).c_str());
        for (int n = options_.backups - 1; n >= 1; --n) ::rename(numbered(n).c_str(), numbered(n + 1).c_str());
        if (::rename(options_.path.c_str(), numbered(1).c_str()) != 0) throw failure("cannot rotate", options_.path);
    }
    open();
}

void RotatingFile::append(std::string_view data) {
    const std::uint64_t before = size_;
    for (std::size_t done = 0; done < data.size();) {
        const ssize_t n = ::write(fd_, data.data() + done, data.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            const int error = n < 0 ? errno : ENOSPC;
            // Half a batch would leave half a line: cut back to where the batch began.
            if (regular_ && done > 0 && ::ftruncate(fd_, static_cast<off_t>(before)) == 0) size_ = before;
            errno = error;
            throw failure("cannot write", options_.path);
        }
        done += static_cast<std::size_t>(n);
        size_ += static_cast<std::uint64_t>(n);
    }
}

void RotatingFile::write(std::span<const std::string> messages, std::size_t& written) {
    // Another instance may write the same file (a reload replaced this one, and requests still
    // use it): one batch at a time, and a file the other rotated away is left for the new one.
    std::lock_guard turn(*lock_);
    if (fd_ >= 0 && regular_) {
        struct stat open_file {
        }, named_file{};
        if (::fstat(fd_, &open_file) != 0 || ::stat(options_.path.c_str(), &named_file) != 0 ||
            open_file.st_ino != named_file.st_ino || open_file.st_dev != named_file.st_dev)
            close();
        else
            size_ = static_cast<std::uint64_t>(named_file.st_size);
    }
    if (fd_ < 0) open();
    // Messages go out in as few writes as the size limit allows; a file holds at most max_bytes
    // unless one message alone is larger.
    // Chunks of at most ~1 MiB in one reused buffer: a large backlog costs no large allocations.
    constexpr std::size_t chunk_limit = 1 << 20;
    std::string& chunk = chunk_;
    chunk.clear();
    std::size_t chunk_end = written;
    auto flush = [&] {
        append(chunk);
        written = chunk_end;
        chunk.clear();
    };
    for (std::size_t i = written; i < messages.size(); ++i) {
        const bool has_records = size_ + chunk.size() > options_.header.size();
        if (regular_ && options_.max_bytes > 0 && has_records &&
            size_ + chunk.size() + messages[i].size() > options_.max_bytes) {
            if (!chunk.empty()) flush();
            rotate();
        }
        chunk += messages[i];
        chunk_end = i + 1;
        if (chunk.size() >= chunk_limit) flush();
    }
    if (!chunk.empty()) flush();
}

void RotatingFile::sync() {
    std::lock_guard turn(*lock_);
    if (fd_ >= 0 && regular_ && ::fsync(fd_) != 0) throw failure("cannot sync", options_.path);
}

}  // namespace watchgate::audit
