#pragma once
// An append-only audit file: created 0600 with its parent folders, rotated by size into
// `<path>.1` .. `<path>.<backups>`, a header at the start of every new file, reopened on request
// (logrotate). A batch is written whole or not at all: a failed write is cut back off. Two
// instances on one path (old and new across a reload) take turns, batch by batch.
#include "audit_writer.hpp"

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

namespace watchgate::audit {

struct FileOptions {
    std::string path;
    std::uint64_t max_bytes = 10u << 20;  // 0: never rotate
    int backups = 5;
    std::string header;  // written first in every new file (CSV); empty: none
};

class RotatingFile : public Sink {
public:
    explicit RotatingFile(FileOptions options) : options_(std::move(options)), lock_(lock_for(options_.path)) {}
    ~RotatingFile() override;

    void write(std::span<const std::string> messages, std::size_t& written) override;
    void sync() override;
    void reopen() override { close(); }

private:
    // One lock per file path in the process, held around each batch (RotatingFile::write).
    static std::shared_ptr<std::mutex> lock_for(const std::string& path);
    void open();
    void close();
    void rotate();
    // Writes all of `data` at the end of the file; on failure cuts the file back and throws.
    void append(std::string_view data);

    FileOptions options_;
    std::shared_ptr<std::mutex> lock_;
    int fd_ = -1;
    std::uint64_t size_ = 0;
    bool regular_ = false;  // /dev/full and pipes are never rotated or cut back
    std::string chunk_;     // the write buffer, kept between writes
};

}  // namespace watchgate::audit
