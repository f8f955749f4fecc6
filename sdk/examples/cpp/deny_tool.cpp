// Refuses calls of one configured tool. The whole plugin: a dozen lines.
#include <watchgate/plugin.hpp>

class DenyTool : public watchgate::Plugin {
public:
    static constexpr watchgate::PluginInfo info{"deny_tool", "1.0.0", "Blocks calls of one tool",
                                                watchgate::kind_security, watchgate::thread_safe};
    explicit DenyTool(watchgate::Config& config) : tool_(config.string("tool")) {}
    void on_request(watchgate::Message& message, watchgate::RequestState*) override {
        if (message.method() == "tools/call" && message.target() == tool_)
            message.block("tool '" + tool_ + "' is denied");
    }

private:
    std::string tool_;
};

WATCHGATE_PLUGIN(DenyTool)
