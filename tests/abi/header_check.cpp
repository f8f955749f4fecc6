// plugin.h and plugin.hpp must compile as C++17 (compiled with -std=c++17 -pedantic -Werror by ctest).
#include <watchgate/plugin.h>
#include <watchgate/plugin.hpp>

namespace {

class Minimal : public watchgate::Plugin {
public:
    static constexpr watchgate::PluginInfo info{"minimal", "1.0.0", "Header check", watchgate::kind_middleware,
                                                watchgate::thread_safe};
    void on_request(watchgate::Message& message, watchgate::RequestState*) override {
        if (message.target() == "hidden") message.complete_json(R"({"content":[]})");
    }
};

}  // namespace

WATCHGATE_PLUGIN(Minimal)
