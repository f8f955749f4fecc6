// Two audit files on one path (an auditor's old and new instance across a reload): they take
// turns batch by batch, and a rotation by one is followed by the other, so no batch is
// interleaved with another, lost, or written into a file that was rotated away.
#include <catch2/catch.hpp>

#include "rotating_file.hpp"
#include "test_support.hpp"

#include <fstream>
#include <regex>
#include <thread>

using namespace watchgate;

TEST_CASE("audit files: two writers of one path take turns and follow each other's rotations") {
    const auto dir = test::scratch_dir("rotating_shared");
    const audit::FileOptions options{(dir / "shared.log").string(), 4096, 200, ""};
    audit::RotatingFile first(options);
    audit::RotatingFile second(options);
    constexpr int batches = 300;
    auto write = [&](audit::RotatingFile& file, char who) {
        for (int n = 0; n < batches; ++n) {
            std::vector<std::string> batch;
            for (int line = 0; line < 3; ++line)
                batch.push_back(std::string("writer ") + who + " batch " + std::to_string(n) + " line " +
                                std::to_string(line) + "\n");
            std::size_t written = 0;
            file.write(batch, written);
        }
    };
    std::thread a([&] { write(first, 'a'); });
    std::thread b([&] { write(second, 'b'); });
    a.join();
    b.join();

    const std::regex line_pattern("writer ([ab]) batch ([0-9]+) line ([0-2])");
    std::vector<std::string> all;  // every line, oldest file first
    for (int n = 200; n >= 0; --n) {
        const auto path = n == 0 ? dir / "shared.log" : dir / ("shared.log." + std::to_string(n));
        if (!std::filesystem::exists(path)) continue;
        // Each file keeps to the size limit: nobody wrote on into a file rotated away.
        CHECK(std::filesystem::file_size(path) <= 4096);
        std::ifstream in(path);
        for (std::string line; std::getline(in, line);) all.push_back(line);
    }
    // A batch is never interleaved with the other writer's: its lines follow each other (a
    // rotation may fall between them).
    int out_of_turn = 0;
    for (std::size_t i = 0; i < all.size(); ++i) {
        std::smatch here;
        REQUIRE(std::regex_match(all[i], here, line_pattern));
        if (here[3] == "0") continue;
        std::smatch before;
        const bool follows = i > 0 && std::regex_match(all[i - 1], before, line_pattern) && before[1] == here[1] &&
                             before[2] == here[2] && std::stoi(before[3]) + 1 == std::stoi(here[3]);
        out_of_turn += follows ? 0 : 1;
    }
    CHECK(out_of_turn == 0);
    const auto lines = all.size();
    CHECK(lines == std::size_t{2 * batches * 3});
}
