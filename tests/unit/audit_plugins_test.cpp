// The built-in auditing plugins (audit_jsonl, audit_csv, audit_human_readable) through the real
// pipeline: formats checked byte by byte and parsed back, rotation, bodies, a clean stop.
#include <catch2/catch.hpp>

#include "test_support.hpp"

#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <random>
#include <regex>
#include <sstream>
#include <thread>

using namespace watchgate;
using nlohmann::json;

namespace {

std::shared_ptr<core::PluginHost> auditor(const std::string& handler, const std::string& config,
                                          const std::string& security = "") {
    return test::load_host("plugins:\n" + security + "  auditing:\n    _global:\n      - handler: " + handler +
                           "\n        config: " + config + "\n");
}

// Runs one request through the pipeline (its audit event is the request's).
core::PipelineResult send(const std::shared_ptr<core::PluginHost>& host, const std::string& line) {
    auto message = test::message(line, "fs");
    auto pipeline = host->pipeline("");
    auto scope = pipeline->begin_request(message);
    return pipeline->process_request(*scope, message);
}

std::string call_line(int id, const json& arguments) {
    return json{{"jsonrpc", "2.0"},
                {"id", id},
                {"method", "tools/call"},
                {"params", {{"name", "echo"}, {"arguments", arguments}}}}
        .dump();
}

std::vector<std::string> lines_of(const std::filesystem::path& file, const std::string& separator = "\n") {
    std::string text = test::read_file(file);
    std::vector<std::string> lines;
    for (std::size_t at = 0; at < text.size();) {
        auto end = text.find(separator, at);
        REQUIRE(end != std::string::npos);  // every record ends its line
        lines.push_back(text.substr(at, end - at));
        at = end + separator.size();
    }
    return lines;
}

// RFC 4180: rows of fields; quoted fields may hold delimiters, quotes ("") and line breaks.
std::vector<std::vector<std::string>> parse_csv(const std::string& text, char delimiter = ',') {
    std::vector<std::vector<std::string>> rows(1);
    std::string field;
    bool quoted = false, was_quoted = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (quoted) {
            if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
                field += '"';
                ++i;
            } else if (c == '"') {
                quoted = false;
            } else {
                field += c;
            }
        } else if (c == '"' && field.empty() && !was_quoted) {
            quoted = was_quoted = true;
        } else if (c == delimiter) {
            rows.back().push_back(std::exchange(field, {}));
            was_quoted = false;
        } else if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') {
            rows.back().push_back(std::exchange(field, {}));
            was_quoted = false;
            rows.emplace_back();
            ++i;
        } else {
            field += c;
        }
    }
    REQUIRE_FALSE(quoted);
    if (rows.back().empty() && field.empty()) rows.pop_back();
    return rows;
}

// A string of random code points from the awkward ranges: controls, NBSP, zero-width, line
// separators, bidi controls, astral characters, quotes and backslashes.
std::string awkward_text(std::mt19937& random) {
    static const std::vector<char32_t> picks = {0x0,    0x1,    0x8,    0x9,    0xA,    0xD,     0x1F,     0x22,
                                                0x5C,   0x7F,   0x80,   0x85,   0xA0,   0xE9,    0x200B,   0x200E,
                                                0x2028, 0x2029, 0x202E, 0xFEFF, 0xFFFD, 0x1F600, 0x10FFFF, 0x41};
    std::string out;
    const int length = static_cast<int>(random() % 12);
    for (int i = 0; i < length; ++i) {
        char32_t code = picks[random() % picks.size()];
        if (code < 0x80) {
            out += static_cast<char>(code);
        } else if (code < 0x800) {
            out += static_cast<char>(0xC0 | (code >> 6));
            out += static_cast<char>(0x80 | (code & 0x3F));
        } else if (code < 0x10000) {
            out += static_cast<char>(0xE0 | (code >> 12));
            out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
            out += static_cast<char>(0x80 | (code & 0x3F));
        } else {
            out += static_cast<char>(0xF0 | (code >> 18));
            out += static_cast<char>(0x80 | ((code >> 12) & 0x3F));
            out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
            out += static_cast<char>(0x80 | (code & 0x3F));
        }
    }
    return out;
}

}  // namespace

TEST_CASE("audit_jsonl: 10,000 events with random Unicode are 10,000 valid ASCII JSON lines") {
    auto dir = test::scratch_dir("audit_unicode");
    const auto file = dir / "audit.jsonl";
    std::vector<std::string> texts;
    {
        auto host = auditor("audit_jsonl", "{output_file: '" + file.string() + "', include_request_body: true}");
        std::mt19937 random(7);
        for (int i = 0; i < 10000; ++i) {
            texts.push_back(awkward_text(random));
            send(host, call_line(i, {{"text", texts.back()}}));
        }
    }  // the host's end stops the writer: everything queued is on disk
    auto lines = lines_of(file);
    REQUIRE(lines.size() == 10000);
    for (std::size_t i = 0; i < lines.size(); ++i) {
        INFO("line " << i << ": " << lines[i]);
        REQUIRE(std::all_of(lines[i].begin(), lines[i].end(), [](char c) { return c >= 0x20 && c < 0x7F; }));
        const json record = json::parse(lines[i]);
        CHECK(record["event_type"] == "request");
        CHECK(record["request_id"] == static_cast<int>(i));
        CHECK(record["body"]["params"]["arguments"]["text"] == texts[i]);  // every character round-trips
    }
    CHECK((std::filesystem::status(file).permissions() & std::filesystem::perms::all) ==
          (std::filesystem::perms::owner_read | std::filesystem::perms::owner_write));
}

TEST_CASE("audit_jsonl: the fields of a record, and a body cut with a visible marker") {
    auto dir = test::scratch_dir("audit_fields");
    const auto file = dir / "nested" / "folders" / "audit.jsonl";
    {
        auto host = auditor("audit_jsonl",
                            "{output_file: '" + file.string() + "', include_request_body: true, max_body_size: 120}");
        send(host, call_line(1, {{"text", "short"}}));
        send(host, call_line(2, {{"text", std::string(200, 'x')}}));
    }
    auto lines = lines_of(file);
    REQUIRE(lines.size() == 2);
    const json first = json::parse(lines[0]);
    for (const char* key :
         {"timestamp", "event_type", "request_id", "upstream", "method", "tool", "outcome", "reason", "stages",
          "duration_ms", "error_code", "error_message", "content_cleared", "body", "body_truncated"})
        CHECK(first.contains(key));
    CHECK(first["upstream"] == "fs");
    CHECK(first["method"] == "tools/call");
    CHECK(first["tool"] == "echo");
    CHECK(first["outcome"] == "allowed");
    CHECK_THAT(first["timestamp"].get<std::string>(),
               Catch::Matches("20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{6}Z"));
    CHECK(first["body"]["params"]["arguments"]["text"] == "short");
    const json second = json::parse(lines[1]);
    CHECK(second["body_truncated"] == true);
    CHECK_THAT(second["body"].get<std::string>(),
               Catch::EndsWith("\xE2\x80\xA6[truncated: 120 of " +
                               std::to_string(call_line(2, {{"text", std::string(200, 'x')}}).size()) + " bytes]"));
}

TEST_CASE("audit: after a security block or redaction the original content never reaches the trail") {
    auto dir = test::scratch_dir("audit_cleared");
    const auto file = dir / "audit.jsonl";
    {
        auto host = auditor("audit_jsonl", "{output_file: '" + file.string() + "', include_request_body: true}",
                            "  security:\n    _global:\n      - handler: keyword_filter\n"
                            "        config: {keywords: [hunter2], action: redact}\n");
        send(host, call_line(1, {{"text", "password hunter2"}}));
    }
    const std::string text = test::read_file(file);
    CHECK(text.find("hunter2") == std::string::npos);
    const json record = json::parse(lines_of(file).at(0));
    CHECK(record["content_cleared"] == true);
    CHECK_FALSE(record.contains("body"));
    CHECK(record["outcome"] == "modified");
}

TEST_CASE("audit: a response blocked or redacted never reaches the trail as it was, whatever include_response_body") {
    for (const char* action : {"redact", "block"}) {
        INFO(action);
        auto dir = test::scratch_dir(std::string("audit_cleared_response_") + action);
        const auto file = dir / "audit.jsonl";
        {
            auto host = auditor("audit_jsonl", "{output_file: '" + file.string() + "', include_response_body: true}",
                                "  security:\n    _global:\n      - handler: keyword_filter\n"
                                "        config: {keywords: [hunter2], action: " +
                                    std::string(action) + "}\n");
            auto pipeline = host->pipeline("");
            auto request = test::message(call_line(1, {{"text", "what is the password?"}}), "fs");
            auto scope = pipeline->begin_request(request);
            REQUIRE(pipeline->process_request(*scope, request).forwards());
            auto response = test::message(
                R"({"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"it is hunter2"}]}})", "fs");
            auto result = pipeline->process_response(*scope, response);
            CHECK(result.content_cleared);
        }
        CHECK(test::read_file(file).find("hunter2") == std::string::npos);
        const auto lines = lines_of(file);
        REQUIRE(lines.size() == 2);  // the request, then the response
        const json record = json::parse(lines.at(1));
        CHECK(record["event_type"] == "response");
        CHECK(record["content_cleared"] == true);
        CHECK_FALSE(record.contains("body"));
    }
    // The same response with nothing to hide is recorded with its body: the option is honoured.
    auto dir = test::scratch_dir("audit_response_body");
    const auto file = dir / "audit.jsonl";
    {
        auto host = auditor("audit_jsonl", "{output_file: '" + file.string() + "', include_response_body: true}");
        auto pipeline = host->pipeline("");
        auto request = test::message(call_line(1, {{"text", "hi"}}), "fs");
        auto scope = pipeline->begin_request(request);
        pipeline->process_request(*scope, request);
        auto response = test::message(
            R"({"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"it is fine"}]}})", "fs");
        pipeline->process_response(*scope, response);
    }
    CHECK(test::read_file(file).find("it is fine") != std::string::npos);
}

TEST_CASE("audit_csv: RFC 4180 with a header, quoting and the formula guard, parsed back") {
    auto dir = test::scratch_dir("audit_csv");
    const auto file = dir / "audit.csv";
    const std::vector<std::string> texts = {"plain", "a,b", "say \"hi\"", "two\r\nlines",  "=HYPERLINK(\"x\")",
                                            "+1",    "-2",  "@SUM(A1)",   "é \xE2\x80\xA8"};
    {
        auto host = auditor("audit_csv", "{output_file: '" + file.string() + "', include_request_body: true}");
        for (std::size_t i = 0; i < texts.size(); ++i) send(host, call_line(static_cast<int>(i), {{"text", texts[i]}}));
        send(host, R"({"jsonrpc":"2.0","id":"=cmd","method":"tools/call","params":{"name":"@evil"}})");
    }
    const std::string text = test::read_file(file);
    auto rows = parse_csv(text);
    REQUIRE(rows.size() == texts.size() + 2);
    const std::vector<std::string> header = {
        "timestamp",      "event_type",  "request_id", "upstream",      "method",         "tool",
        "outcome",        "duration_ms", "error_code", "error_message", "reason",         "stages",
        "body_truncated", "body",        "session_id", "transport",     "client_address", "subject",
        "detections",     "body_redacted"};
    CHECK(rows[0] == header);
    for (std::size_t i = 0; i < texts.size(); ++i) {
        const auto& row = rows[i + 1];
        REQUIRE(row.size() == header.size());
        CHECK(row[1] == "request");
        CHECK(row[2] == std::to_string(i));
        CHECK(row[5] == "echo");
        CHECK(json::parse(row[13])["params"]["arguments"]["text"] == texts[i]);  // the body is JSON, intact
    }
    // Text fields that a spreadsheet would run as a formula start with a quote. (An id is its JSON
    // text: a string id starts with its own quote already.)
    CHECK(rows.back()[2] == "\"=cmd\"");
    CHECK(rows.back()[5] == "'@evil");

    auto semicolons = dir / "semi.csv";
    {
        auto host =
            auditor("audit_csv", "{output_file: '" + semicolons.string() + "', delimiter: ';', quote_style: all}");
        send(host, call_line(1, {{"text", "x"}}));
    }
    const std::string semi = test::read_file(semicolons);
    CHECK(semi.rfind("\"timestamp\";\"event_type\";", 0) == 0);
    CHECK(parse_csv(semi, ';').at(1).at(5) == "echo");
}

TEST_CASE("audit_csv: rotation under load keeps a header at the top of every file") {
    auto dir = test::scratch_dir("audit_rotation");
    const auto file = dir / "audit.csv";
    const int events = 3000;
    {
        auto host = auditor("audit_csv", "{output_file: '" + file.string() +
                                             "', include_request_body: true, max_file_size_mb: 0.25, backup_count: 3}");
        for (int i = 0; i < events; ++i) send(host, call_line(i, {{"text", std::string(300, 'a' + i % 26)}}));
    }
    std::size_t rows_seen = 0;
    std::vector<std::filesystem::path> files = {file, dir / "audit.csv.1", dir / "audit.csv.2", dir / "audit.csv.3"};
    for (const auto& part : files) {
        INFO(part);
        REQUIRE(std::filesystem::exists(part));
        CHECK(std::filesystem::file_size(part) <= (1u << 18));
        auto rows = parse_csv(test::read_file(part));
        CHECK(rows.at(0).at(0) == "timestamp");
        rows_seen += rows.size() - 1;
        for (std::size_t r = 1; r < rows.size(); ++r) CHECK(rows[r].size() == 20);
    }
    CHECK_FALSE(std::filesystem::exists(dir / "audit.csv.4"));
    CHECK(rows_seen > 0);
    CHECK(rows_seen < static_cast<std::size_t>(events));  // the oldest files were dropped
    // The newest rows are in the current file, in order.
    auto current = parse_csv(test::read_file(file));
    CHECK(current.back().at(2) == std::to_string(events - 1));
}

TEST_CASE("audit_human_readable: one line per event in the documented grammar") {
    auto dir = test::scratch_dir("audit_human");
    const auto file = dir / "audit.log";
    {
        auto host =
            auditor("audit_human_readable", "{output_file: '" + file.string() + "', include_request_body: true}",
                    "  security:\n    _global:\n      - handler: keyword_filter\n"
                    "        config: {keywords: [secret]}\n");
        send(host, call_line(1, {{"text", "two\nlines and \xE2\x80\xA8"}}));
        send(host, call_line(2, {{"text", "a secret"}}));
    }
    auto lines = lines_of(file);
    REQUIRE(lines.size() == 2);
    CHECK_THAT(lines[0], Catch::Matches("20[0-9-]{8}T[0-9:.]{15}Z REQUEST id=1 upstream=fs method=tools/call tool=echo "
                                        "outcome=allowed stages=keyword_filter:allowed:[0-9.]+ms body=\\{.*\\}"));
    CHECK_THAT(lines[0], Catch::Contains("two\\nlines and \\u2028"));
    CHECK_THAT(lines[1], Catch::Contains(" REQUEST id=2 upstream=fs method=tools/call tool=echo outcome=blocked "
                                         "error=-32000 \"[keyword_filter] a configured keyword was found\" "
                                         "reason=\"[keyword_filter] a configured keyword was found\""));
    CHECK(lines[1].find("body=") == std::string::npos);
}

TEST_CASE("audit: a clean stop writes all 1,000 queued events") {
    auto dir = test::scratch_dir("audit_stop");
    const auto file = dir / "audit.jsonl";
    {
        // A long flush interval: nothing is written before the stop.
        auto host = auditor("audit_jsonl", "{output_file: '" + file.string() + "', flush_interval_ms: 60000}");
        for (int i = 0; i < 1000; ++i) send(host, call_line(i, {{"text", "x"}}));
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        CHECK((!std::filesystem::exists(file) || std::filesystem::file_size(file) == 0));
    }
    CHECK(lines_of(file).size() == 1000);
}

TEST_CASE(
    "audit: a full queue drops events and counts them and a critical auditor then refuses while another lets pass") {
    // The writer blocks opening a FIFO nobody reads yet, so the queue fills exactly: what is not
    // queued is dropped, counted at the stop, and refused only when the auditor is critical.
    for (const bool critical : {false, true}) {
        INFO("critical: " << critical);
        auto dir = test::scratch_dir(critical ? "audit_queue_critical" : "audit_queue_optional");
        const auto fifo = dir / "audit.fifo";
        REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
        auto sink = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(64);
        struct LoggerGuard {
            std::shared_ptr<spdlog::logger> previous = spdlog::default_logger();
            ~LoggerGuard() { spdlog::set_default_logger(previous); }
        } restore_logger;
        spdlog::set_default_logger(std::make_shared<spdlog::logger>("capture", sink));
        constexpr int sent = 20;
        int refused = 0;
        std::string trail;
        {
            auto host = auditor("audit_jsonl", "{output_file: '" + fifo.string() +
                                                   "', queue_size: 4, flush_interval_ms: 60000, critical: " +
                                                   (critical ? "true" : "false") + "}");
            for (int id = 1; id <= sent; ++id) {
                const auto result = send(host, call_line(id, {{"text", "x"}}));
                if (!result.forwards()) {
                    ++refused;
                    CHECK(result.error_code == -32005);
                    // The auditor's own reason reaches the client (ABI 1.2 audit_error).
                    CHECK(result.reason == "[audit_jsonl] audit queue full (4 events): event dropped");
                }
            }
            // Now read: the writer opens, writes what it holds, and the host's end drains the rest.
            std::thread reader([&] { trail = test::read_file(fifo); });
            host.reset();
            reader.join();
        }
        spdlog::set_default_logger(restore_logger.previous);
        std::string log;
        for (const auto& line : sink->last_formatted()) log += line;
        std::smatch counts;
        REQUIRE(
            std::regex_search(log, counts, std::regex("([0-9]+) events written, ([0-9]+) dropped \\(queue full\\)")));
        const int written = std::stoi(counts[1]), dropped = std::stoi(counts[2]);
        CHECK(written + dropped == sent);
        // At most one batch taken before the writer blocked, plus a full queue.
        CHECK(written <= 8);
        CHECK(static_cast<int>(std::count(trail.begin(), trail.end(), '\n')) == written);
        CHECK(refused == (critical ? dropped : 0));
        CHECK_THAT(log, Catch::Contains("audit queue full (4 events): event dropped"));
    }
}

TEST_CASE("audit: config errors point at the YAML place") {
    std::string errors = test::load_errors(
        "plugins:\n  auditing:\n    _global:\n      - handler: audit_jsonl\n        config:\n"
        "          output_file: ''\n          fsync: sometimes\n          colour: red\n"
        "      - handler: audit_syslog\n        config: {facility: local9, transport: carrier-pigeon}\n"
        "      - handler: audit_csv\n        config: {output_file: x.csv, delimiter: ';;'}\n");
    CHECK_THAT(errors, Catch::Contains("config/output_file: expected a file path"));
    CHECK_THAT(errors, Catch::Contains("config/fsync: expected one of: never, interval, always"));
    CHECK_THAT(errors, Catch::Contains("config/colour: unknown key"));
    CHECK_THAT(errors, Catch::Contains("config/facility: expected one of: kern"));
    CHECK_THAT(errors, Catch::Contains("config/transport: expected one of: udp, tcp, unix"));
    CHECK_THAT(errors, Catch::Contains("config/delimiter: expected one character"));
    CHECK_THAT(
        test::load_errors("plugins:\n  auditing:\n    _global:\n      - handler: audit_csv\n        config: {}\n"),
        Catch::Contains("missing required key 'output_file'"));
}

TEST_CASE("audit: a relative output_file resolves against the config file's folder") {
    auto dir = test::scratch_dir("audit_relative");
    {
        auto host =
            core::PluginHost::load(core::parse_config("plugins:\n  auditing:\n    _global:\n      - handler: "
                                                      "audit_jsonl\n        config: {output_file: logs/a.jsonl}\n",
                                                      dir / "gateway.yaml"));
        send(host, call_line(1, {{"text", "x"}}));
    }
    CHECK(lines_of(dir / "logs" / "a.jsonl").size() == 1);
}

TEST_CASE("audit_jsonl: a body as the client spaced it stays valid JSON") {
    auto dir = test::scratch_dir("audit_spacing");
    const auto file = dir / "audit.jsonl";
    {
        auto host = auditor("audit_jsonl", "{output_file: '" + file.string() + "', include_request_body: true}");
        send(host,
             "{ \"jsonrpc\" :\t\"2.0\", \"id\": 1, \"method\": \"tools/call\",\t\"params\": "
             "{\"name\": \"echo\", \"arguments\": {\"text\": \"tab\\there \\u00e9\"}} }");
    }
    const json record = json::parse(lines_of(file).at(0));
    CHECK(record["body"]["params"]["arguments"]["text"] == "tab\there \xC3\xA9");
}

TEST_CASE("audit_jsonl: a carriage return between a body's tokens never splits its record") {
    // Found by fuzz_audit_text: a body spaced with \r kept it, and readers that split lines at
    // \r (Python's splitlines) saw two records.
    auto dir = test::scratch_dir("audit_cr");
    const auto file = dir / "audit.jsonl";
    {
        auto host = auditor("audit_jsonl", "{output_file: '" + file.string() + "', include_request_body: true}");
        send(host,
             "{\"jsonrpc\":\"2.0\",\r\"id\":1,\r\"method\":\"tools/call\",\"params\":"
             "{\"name\":\"echo\",\"arguments\":{\"text\":\"x\"}}}");
    }
    const std::string text = test::read_file(file);
    CHECK(text.find('\r') == std::string::npos);
    const json record = json::parse(lines_of(file).at(0));
    CHECK(record["body"]["id"] == 1);
}
