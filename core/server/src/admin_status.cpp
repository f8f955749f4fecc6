#include <watchgate/core/server/admin_status.hpp>

#include <watchgate/core/server/admin_client.hpp>

#include <boost/system/system_error.hpp>

#include <chrono>
#include <cstdio>
#include <map>
#include <sstream>
#include <stdexcept>
#include <vector>

namespace watchgate::core {

namespace {

struct Sample {
    std::map<std::string, std::string> labels;
    double value = 0;
};

// Every sample of the Prometheus text, by metric name (comments skipped).
std::map<std::string, std::vector<Sample>> parse_samples(const std::string& text) {
    std::map<std::string, std::vector<Sample>> out;
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) {
        if (line.empty() || line[0] == '#') continue;
        const auto name_end = line.find_first_of("{ ");
        if (name_end == std::string::npos) continue;
        Sample sample;
        std::size_t at = name_end;
        if (line[at] == '{') {
            ++at;
            while (at < line.size() && line[at] != '}') {
                const auto equals = line.find("=\"", at);
                if (equals == std::string::npos) break;
                std::string key = line.substr(at, equals - at), value;
                at = equals + 2;
                while (at < line.size() && line[at] != '"') {
                    if (line[at] == '\\' && at + 1 < line.size()) ++at;
                    value += line[at++];
                }
                sample.labels[key] = value;
                at = line.find_first_of(",}", at);
                if (at != std::string::npos && line[at] == ',') ++at;
            }
            at = line.find(' ', at);
        }
        if (at == std::string::npos) continue;
        sample.value = std::strtod(line.c_str() + at + 1, nullptr);
        out[line.substr(0, name_end)].push_back(std::move(sample));
    }
    return out;
}

std::string number(double value) {
    char text[32];
    std::snprintf(text, sizeof text, "%.0f", value);
    return text;
}

}  // namespace

std::string format_status(const std::string& metrics, unsigned ready_status, const std::string& ready_body) {
    auto samples = parse_samples(metrics);
    auto first = [&](const std::string& name, const std::string& label = {}) -> std::string {
        for (const auto& sample : samples[name])
            return label.empty() ? number(sample.value)
                                 : (sample.labels.contains(label) ? sample.labels.at(label) : std::string());
        return "-";
    };
    std::ostringstream out;
    out << "watchgate " << first("watchgate_build_info", "version") << ": "
        << (ready_status == 200 ? std::string("ready") : ready_body.substr(0, ready_body.find('\n'))) << "\n";
    out << "sessions " << first("watchgate_sessions") << ", requests in flight "
        << first("watchgate_requests_in_flight") << "\n\n";

    struct Row {
        std::string state = "down";
        double in_flight = 0, restarts = 0, timeouts = 0, answered = 0, failed = 0;
    };
    std::map<std::string, Row> rows;
    for (const auto& sample : samples["watchgate_upstream_up"])
        rows[sample.labels.at("upstream")].state = sample.value == 1 ? "up" : "down";
    for (const auto& sample : samples["watchgate_upstream_in_flight"])
        rows[sample.labels.at("upstream")].in_flight = sample.value;
    for (const auto& sample : samples["watchgate_upstream_restarts_total"])
        rows[sample.labels.at("upstream")].restarts = sample.value;
    for (const auto& sample : samples["watchgate_upstream_timeouts_total"])
        rows[sample.labels.at("upstream")].timeouts = sample.value;
    for (const auto& sample : samples["watchgate_requests_total"]) {
        const std::string& upstream = sample.labels.at("upstream");
        if (!rows.contains(upstream)) continue;  // _gateway, _several: not an upstream's
        rows[upstream].answered += sample.value;
        if (sample.labels.at("outcome") != "ok") rows[upstream].failed += sample.value;
    }
    std::size_t width = 8;
    for (const auto& [name, row] : rows) width = std::max(width, name.size());
    char line[256];
    std::snprintf(line, sizeof line, "%-*s  %-5s  %9s  %8s  %8s  %9s  %8s\n", static_cast<int>(width), "upstream",
                  "state", "in flight", "restarts", "timeouts", "requests", "not ok");
    out << line;
    for (const auto& [name, row] : rows) {
        std::snprintf(line, sizeof line, "%-*s  %-5s  %9s  %8s  %8s  %9s  %8s\n", static_cast<int>(width), name.c_str(),
                      row.state.c_str(), number(row.in_flight).c_str(), number(row.restarts).c_str(),
                      number(row.timeouts).c_str(), number(row.answered).c_str(), number(row.failed).c_str());
        out << line;
    }
    return out.str();
}

std::string admin_status(const std::string& host, std::uint16_t port) {
    const std::string where = host + ":" + std::to_string(port);
    try {
        const AdminAddress address{host, port};
        auto [metrics_status, metrics] = admin_request(address, "GET", "/metrics");
        if (metrics_status != 200)
            throw std::runtime_error("/metrics answered " + std::to_string(metrics_status) +
                                     ": is this a Watchgate admin endpoint?");
        auto [ready_status, ready] = admin_request(address, "GET", "/readyz");
        return format_status(metrics, ready_status, ready);
    } catch (const boost::system::system_error& e) {
        throw std::runtime_error("cannot reach the admin endpoint at " + where + ": " + e.code().message() +
                                 " (is the gateway running, with admin: in its configuration?)");
    } catch (const std::runtime_error& e) {
        throw std::runtime_error("the admin endpoint at " + where + ": " + e.what());
    }
}

}  // namespace watchgate::core
