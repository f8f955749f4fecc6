#include <watchgate/core/server/stdio_listener.hpp>

#include <watchgate/core/base/line_splitter.hpp>
#include <watchgate/core/base/read_lines.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

#include <spdlog/spdlog.h>

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <future>
#include <iostream>
#include <mutex>
#include <thread>
#include <vector>

namespace watchgate::core {

namespace asio = boost::asio;
using nlohmann::json;

namespace {

bool is_pipe_or_socket(int fd) {
    struct stat info {};
    ::fstat(fd, &info);
    return S_ISFIFO(info.st_mode) || S_ISSOCK(info.st_mode);
}

// A file or terminal on stdout is written directly, waiting while it cannot take more.
std::function<void(std::string)> direct_stdout_sink() {
    auto mutex = std::make_shared<std::mutex>();
    return [mutex](std::string line) {
        line += '\n';
        std::lock_guard lock(*mutex);
        for (std::size_t done = 0; done < line.size();) {
            ssize_t n = ::write(STDOUT_FILENO, line.data() + done, line.size() - done);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                pollfd ready{STDOUT_FILENO, POLLOUT, 0};
                ::poll(&ready, 1, 1000);
                continue;
            }
            if (n <= 0) return;  // stdout is gone: nothing left to tell
            done += static_cast<std::size_t>(n);
        }
    };
}

}  // namespace

StdioListener::StdioListener(Runtime& runtime) : runtime_(runtime) {}

void StdioListener::start() {
    const auto& config = runtime_.config();
    auto control = runtime_.control();
    std::function<void(std::string)> sink;
    if (is_pipe_or_socket(STDOUT_FILENO)) {
        writer_ = std::make_shared<LineWriter>(runtime_.io(), ::fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 0),
                                               config.streams, [control, timeout = config.streams.stall_timeout] {
                                                   spdlog::error("the client took nothing on stdout for {} ms: closing",
                                                                 timeout.count());
                                                   control->request_stop();
                                               });
        sink = [writer = writer_](std::string line) { writer->write(std::move(line)); };
    } else {
        sink = direct_stdout_sink();
    }
    session_ = runtime_.gateway().open_session(std::make_shared<StdioChannel>(std::move(sink), writer_));
    auto session = session_;

    // Reading never waits on processing: each line is handed over at once. A pipe or socket is
    // read on the I/O thread (no thread hop per request); a file or terminal on a thread of its own.
    const std::size_t max_size = config.max_message_size;
    if (is_pipe_or_socket(STDIN_FILENO)) {
        auto input =
            std::make_shared<asio::posix::stream_descriptor>(runtime_.io(), ::fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 0));
        asio::co_spawn(
            runtime_.io(),
            [input, session, control, max_size]() -> asio::awaitable<void> {
                input->non_blocking(true);
                co_await read_lines(
                    *input, max_size, 64 * 1024, [&](std::string line) { session->on_client_line(std::move(line)); },
                    [&](const OversizeLine& line) { session->on_client_oversize(line); },
                    [&] { return !control->stopping(); }, [&] { return session->wait_for_client_input_room(); });
                spdlog::debug("client input closed");
                control->request_stop();
            },
            asio::detached);
        return;
    }
    std::thread([session, control, max_size] {
        LineSplitter splitter(max_size);
        std::vector<char> buffer(64 * 1024);
        auto on_line = [&](std::string line) { session->on_client_line(std::move(line)); };
        auto on_oversize = [&](const OversizeLine& line) { session->on_client_oversize(line); };
        for (;;) {
            ssize_t n = ::read(STDIN_FILENO, buffer.data(), buffer.size());
            if (n < 0 && errno == EINTR) continue;
            if (control->stopping()) break;
            if (n <= 0) {
                splitter.finish(on_line, on_oversize);  // a last line without its newline counts
                break;
            }
            splitter.feed(std::string_view(buffer.data(), static_cast<std::size_t>(n)), on_line, on_oversize);
        }
        spdlog::debug("client input closed");
        control->request_stop();
    }).detach();  // may stay blocked in read() after a signal; the process ends without it
}

void StdioListener::flush() {
    if (!writer_) return;
    auto drained = std::make_shared<std::promise<void>>();  // may be kept by the writer past this frame
    writer_->when_drained([drained] { drained->set_value(); });
    drained->get_future().wait_for(std::chrono::seconds(5));
}

void answer_startup_failure(const std::string& message) {
    if (::isatty(STDIN_FILENO)) return;
    std::string line;
    json id = nullptr;
    if (std::getline(std::cin, line)) {
        auto parsed = json::parse(line, nullptr, false);
        if (parsed.is_object() && parsed.contains("id")) id = parsed["id"];
    }
    std::cout << dump_json(make_error_response(id, error_code::internal, "Watchgate failed to start: " + message))
              << "\n"
              << std::flush;
}

}  // namespace watchgate::core
