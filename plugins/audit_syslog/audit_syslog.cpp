// audit_syslog: each event as an RFC 5424 syslog message whose MSG is the event's JSON, over UDP,
// TCP (octet-counted framing, RFC 6587) or a Unix socket. docs/plugins/audit_syslog.md
#include "audit_plugin.hpp"
#include "json_text.hpp"

#include <netdb.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace {

using watchgate::audit::AuditRecord;

enum class Transport { udp, tcp, unix_socket };

constexpr std::pair<const char*, int> facilities[] = {
    {"kern", 0},    {"user", 1},    {"mail", 2},    {"daemon", 3},    {"auth", 4},    {"syslog", 5},  {"lpr", 6},
    {"news", 7},    {"uucp", 8},    {"cron", 9},    {"authpriv", 10}, {"ftp", 11},    {"local0", 16}, {"local1", 17},
    {"local2", 18}, {"local3", 19}, {"local4", 20}, {"local5", 21},   {"local6", 22}, {"local7", 23}};

// Severity by outcome: refusals are warnings, failures errors, the rest information.
int severity_of(const AuditRecord& record) {
    if (record.outcome == "error") return 3;
    if (record.outcome == "blocked") return 4;
    return 6;
}

// RFC 5424 header fields: printable ASCII without spaces, at most `limit` characters, "-" when empty.
std::string header_field(std::string_view text, std::size_t limit) {
    std::string out;
    for (char c : text)
        if (c > 0x20 && c < 0x7F && out.size() < limit) out += c;
    return out.empty() ? "-" : out;
}

std::runtime_error socket_failure(const std::string& what) {
    return std::runtime_error(what + ": " + std::strerror(errno));
}

class SyslogSink : public watchgate::audit::Sink {
public:
    SyslogSink(Transport transport, std::string host, std::string port, std::string socket_path)
        : transport_(transport), host_(std::move(host)), port_(std::move(port)), socket_path_(std::move(socket_path)) {}
    ~SyslogSink() override { reopen(); }

    void write(std::span<const std::string> messages, std::size_t& written) override {
        while (written < messages.size()) {
            if (fd_ < 0) connect();
            try {
                if (stream_)
                    send_message(messages[written++]);
                else
                    written += send_datagrams(messages.subspan(written));
            } catch (...) {
                reopen();  // a broken connection is made afresh on the next attempt
                throw;
            }
        }
    }
    void reopen() override {
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
    }

private:
    void connect() {
        if (transport_ == Transport::unix_socket) {
            sockaddr_un address{};
            address.sun_family = AF_UNIX;
            if (socket_path_.size() >= sizeof address.sun_path) throw std::runtime_error("socket path too long");
            std::memcpy(address.sun_path, socket_path_.c_str(), socket_path_.size() + 1);
            for (int type : {SOCK_DGRAM, SOCK_STREAM}) {
                fd_ = ::socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
                if (fd_ >= 0 && ::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0) {
                    stream_ = type == SOCK_STREAM;
                    return;
                }
                const int error = errno;
                if (fd_ >= 0) ::close(fd_);
                fd_ = -1;
                errno = error;
                if (error != EPROTOTYPE) break;
            }
            throw socket_failure("cannot connect to " + socket_path_);
        }
        addrinfo hints{};
        hints.ai_socktype = transport_ == Transport::tcp ? SOCK_STREAM : SOCK_DGRAM;
        addrinfo* found = nullptr;
        if (int status = ::getaddrinfo(host_.c_str(), port_.c_str(), &hints, &found); status != 0)
            throw std::runtime_error("cannot resolve " + host_ + ": " + ::gai_strerror(status));
        int error = 0;
        for (addrinfo* at = found; at && fd_ < 0; at = at->ai_next) {
            fd_ = ::socket(at->ai_family, at->ai_socktype | SOCK_CLOEXEC, at->ai_protocol);
            if (fd_ >= 0 && ::connect(fd_, at->ai_addr, at->ai_addrlen) != 0) {
                error = errno;
                ::close(fd_);
                fd_ = -1;
            }
        }
        ::freeaddrinfo(found);
        if (fd_ < 0) {
            errno = error;
            throw socket_failure("cannot connect to " + host_ + ":" + port_);
        }
        stream_ = transport_ == Transport::tcp;
    }

    // Up to 64 datagrams in one system call; returns how many were sent.
    std::size_t send_datagrams(std::span<const std::string> messages) {
        constexpr std::size_t most = 64;
        std::array<iovec, most> parts{};
        std::array<mmsghdr, most> headers{};
        const std::size_t count = std::min(most, messages.size());
        for (std::size_t i = 0; i < count; ++i) {
            parts[i] = {const_cast<char*>(messages[i].data()), messages[i].size()};
            headers[i].msg_hdr.msg_iov = &parts[i];
            headers[i].msg_hdr.msg_iovlen = 1;
        }
        for (;;) {
            const int sent = ::sendmmsg(fd_, headers.data(), static_cast<unsigned>(count), MSG_NOSIGNAL);
            if (sent > 0) return static_cast<std::size_t>(sent);
            if (sent < 0 && errno == EINTR) continue;
            throw socket_failure("cannot send to the syslog daemon");
        }
    }

    // Streams frame each message by its length (octet counting, RFC 6587).
    void send_message(const std::string& message) {
        const std::string framed = std::to_string(message.size()) + " " + message;
        for (std::size_t done = 0; done < framed.size();) {
            const ssize_t n = ::send(fd_, framed.data() + done, framed.size() - done, MSG_NOSIGNAL);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) throw socket_failure("cannot send to the syslog daemon");
            done += static_cast<std::size_t>(n);
        }
    }

    Transport transport_;
    std::string host_, port_, socket_path_;
    int fd_ = -1;
    bool stream_ = false;
};

class AuditSyslog : public watchgate::audit::AuditPlugin {
public:
    static constexpr watchgate::PluginInfo info{"audit_syslog", "1.0.0",
                                                "Audit trail to syslog (RFC 5424) over UDP, TCP or a Unix socket",
                                                watchgate::kind_auditing, watchgate::thread_safe};

    explicit AuditSyslog(watchgate::Config& config) : AuditPlugin(config) {
        const auto transport = config.choice(
            "transport", {{"udp", Transport::udp}, {"tcp", Transport::tcp}, {"unix", Transport::unix_socket}},
            Transport::udp);
        const std::string host = config.string("host", "127.0.0.1");
        const std::int64_t port = config.integer("port", 514, 1, 65535);
        const std::string socket_path = config.string("socket_path", "/dev/log");
        const std::string facility_name = config.string("facility", "local0");
        int facility = -1;
        for (const auto& [name, code] : facilities)
            if (facility_name == name) facility = code;
        if (facility < 0) {
            config.error("/facility",
                         "expected one of: kern, user, mail, daemon, auth, syslog, lpr, news, uucp, "
                         "cron, authpriv, ftp, local0 .. local7");
            facility = 16;
        }
        const std::string app_name = header_field(config.string("app_name", "watchgate"), 48);
        char name[256] = {};
        ::gethostname(name, sizeof name - 1);
        const std::string hostname = header_field(config.string("hostname", name), 255);
        const std::string procid = std::to_string(::getpid());
        // UDP carries one datagram per message: a larger event's body is cut until it fits (the
        // record then says body_truncated, with the marker).
        const std::size_t max_message = transport == Transport::udp ? 65000 : static_cast<std::size_t>(-1);
        start("audit_syslog", config,
              std::make_unique<SyslogSink>(transport, host, std::to_string(port), host_resolved(socket_path)),
              [=](const AuditRecord& record) {
                  auto render = [&](const AuditRecord& event) {
                      return "<" + std::to_string(facility * 8 + severity_of(event)) + ">1 " +
                             watchgate::audit::utc_timestamp(event.time_unix_us) + " " + hostname + " " + app_name +
                             " " + procid + " " + header_field(event.event_type, 32) + " - " +
                             watchgate::audit::record_json(event);
                  };
                  std::string message = render(record);
                  if (message.size() <= max_message || !record.body) return message;
                  AuditRecord smaller = record;
                  while (message.size() > max_message && !smaller.body->empty()) {
                      std::size_t keep = smaller.body->size() / 2;
                      while (keep > 0 && (static_cast<unsigned char>((*smaller.body)[keep]) & 0xC0) == 0x80) --keep;
                      smaller.body->resize(keep);
                      message = render(smaller);
                  }
                  return message;
              });
    }

private:
    std::string host_resolved(const std::string& path) const { return host().resolve_path(path); }
};

}  // namespace

WATCHGATE_PLUGIN(AuditSyslog)
