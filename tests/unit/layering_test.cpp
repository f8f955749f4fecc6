// The include direction (docs/architecture.md): a file's folder tells what it may include. Inside
// core/, a layer includes only its own headers and those of the layers below it; plugins and the
// SDK include nothing of core/. Scans the sources, and proves the scan on a planted violation.
#include <catch2/catch.hpp>

#include "test_support.hpp"

#include <algorithm>
#include <array>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;

// Lowest first: each may include those before it.
constexpr std::array<std::string_view, 8> layers = {"base",     "protocol", "config", "pipeline",
                                                    "upstream", "session",  "http",   "server"};

int rank_of(std::string_view layer) {
    auto found = std::find(layers.begin(), layers.end(), layer);
    return found == layers.end() ? -1 : static_cast<int>(found - layers.begin());
}

bool is_source(const fs::path& path) {
    const auto ext = path.extension();
    return ext == ".cpp" || ext == ".hpp" || ext == ".h" || ext == ".c" || ext == ".in";
}

// "file:line: what" for every include that goes against the direction, under `root`.
std::vector<std::string> layering_violations(const fs::path& root) {
    static const std::regex include(R"(^\s*#\s*include\s*[<"]watchgate/core/([a-z_]+)/)");
    std::vector<std::string> found;
    auto scan = [&](const fs::path& folder, auto&& allowed, const std::string& rule) {
        if (!fs::exists(folder)) return;
        for (const auto& entry : fs::recursive_directory_iterator(folder)) {
            if (!entry.is_regular_file() || !is_source(entry.path())) continue;
            std::ifstream in(entry.path());
            std::string line;
            for (int number = 1; std::getline(in, line); ++number) {
                std::smatch match;
                if (std::regex_search(line, match, include) && !allowed(entry.path(), match[1].str()))
                    found.push_back(fs::relative(entry.path(), root).string() + ":" + std::to_string(number) + ": " +
                                    rule + ": " + line);
            }
        }
    };
    for (std::string_view layer : layers) {
        const int own = rank_of(layer);
        scan(
            root / "core" / layer,
            [&](const fs::path&, const std::string& included) {
                const int rank = rank_of(included);
                return rank >= 0 && rank <= own;
            },
            "core/" + std::string(layer) + " includes a layer above it");
    }
    auto nothing_of_core = [](const fs::path&, const std::string&) { return false; };
    scan(root / "sdk", nothing_of_core, "the SDK includes core");
    scan(root / "plugins", nothing_of_core, "a plugin includes core (plugins see the SDK alone)");
    // A folder of core/ that is not a layer would escape the check.
    if (fs::exists(root / "core"))
        for (const auto& entry : fs::directory_iterator(root / "core"))
            if (entry.is_directory() && rank_of(entry.path().filename().string()) < 0)
                found.push_back("core/" + entry.path().filename().string() + ": a folder that is no layer");
    return found;
}

void write(const fs::path& path, const std::string& text) {
    fs::create_directories(path.parent_path());
    std::ofstream(path) << text;
}

}  // namespace

TEST_CASE("layering: no file includes a header of a layer above its own") {
    const auto violations = layering_violations(WATCHGATE_SOURCE_DIR);
    INFO([&] {
        std::string all;
        for (const auto& v : violations) all += v + "\n";
        return all;
    }());
    CHECK(violations.empty());
    // The scan saw the real tree: every layer has sources.
    for (std::string_view layer : layers) CHECK(fs::exists(fs::path(WATCHGATE_SOURCE_DIR) / "core" / layer / "src"));
}

TEST_CASE("layering: the check finds a planted violation of each rule") {
    const auto root = watchgate::test::scratch_dir("layering");
    write(root / "core/protocol/src/message.cpp",
          "#include <watchgate/core/protocol/message.hpp>\n#include <watchgate/core/base/gather.hpp>\n");
    CHECK(layering_violations(root).empty());  // own layer and below: fine

    write(root / "core/protocol/src/planted.cpp",
          "// uses the session\n#include <watchgate/core/session/gateway.hpp>\n");
    write(root / "core/server/src/fine.cpp", "#include <watchgate/core/session/gateway.hpp>\n");
    write(root / "plugins/p/p.cpp",
          "#include <watchgate/plugin.hpp>\n#include \"watchgate/core/protocol/message.hpp\"\n");
    write(root / "sdk/include/watchgate/x.hpp", "  #  include <watchgate/core/base/gather.hpp>\n");
    write(root / "core/misc/src/a.cpp", "\n");
    const auto violations = layering_violations(root);
    REQUIRE(violations.size() == 4);
    auto reported = [&](const std::string& text) {
        return std::any_of(violations.begin(), violations.end(),
                           [&](const std::string& v) { return v.find(text) != std::string::npos; });
    };
    CHECK(reported("core/protocol/src/planted.cpp:2: core/protocol includes a layer above it"));
    CHECK(reported("plugins/p/p.cpp:2: a plugin includes core"));
    CHECK(reported("sdk/include/watchgate/x.hpp:1: the SDK includes core"));
    CHECK(reported("core/misc: a folder that is no layer"));
}
