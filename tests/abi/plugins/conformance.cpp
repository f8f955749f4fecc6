// The conformance plugin through plugin.hpp; behaves exactly like conformance.c.
#include <watchgate/plugin.hpp>

namespace {

struct Kept : watchgate::RequestState {
    std::string id;
};

class Conformance : public watchgate::Plugin {
public:
    static constexpr watchgate::PluginInfo info{"conformance_cpp",          "1.0.0",
                                                "Conformance plugin (C++)", watchgate::kind_security,
                                                watchgate::thread_safe,     R"({"type":"object","required":["word"]})"};

    explicit Conformance(watchgate::Config& config) : word_(config.string("word")) {
        if (config.has("word") && word_.empty()) config.error("/word", "expected a non-empty string");
    }

    std::unique_ptr<watchgate::RequestState> begin_request(watchgate::Message& request) override {
        auto kept = std::make_unique<Kept>();
        kept->id = std::string(request.id());
        return kept;
    }

    void on_request(watchgate::Message& message, watchgate::RequestState*) override {
        std::int64_t strings = 0;
        bool found = false;
        message.visit_strings("/params", [&](std::string_view, std::string_view value, bool) {
            ++strings;
            found = value.find(word_) != std::string_view::npos;
            return !found;
        });
        if (found) return message.block("word found", -32042, R"({"rule":"word"})");
        message.add_metadata(watchgate::json::Object{{"strings", strings}});
    }

    void on_response(watchgate::Message& message, watchgate::RequestState* state) override {
        auto* kept = static_cast<Kept*>(state);
        if (!kept || kept->id != message.id()) throw std::runtime_error("request state mismatch");
        if (message.get("/result/echo")) message.replace_string("/result/echo", info.name);
    }

private:
    std::string word_;
};

}  // namespace

WATCHGATE_PLUGIN(Conformance)
