//! no_tool_rust: blocks every call of one tool (config: {tool: NAME}, "rm" by default).
use watchgate_plugin::{export_plugin, Config, Host, Message, Plugin};

struct NoTool {
    tool: String,
}

impl Plugin for NoTool {
    fn create(config: &mut Config, _host: &Host) -> Option<Self> {
        config.check_keys("", &["tool"]);
        let tool = config.string("/tool", "rm");
        if tool.is_empty() {
            config.error("/tool", "expected a tool name");
        }
        Some(NoTool { tool })
    }

    fn on_request(&self, message: &mut Message) -> Result<(), String> {
        if message.method() == "tools/call" && message.target() == self.tool {
            let who = message.context();
            message.block(&format!("this tool is not allowed (session {})", who.session_id), 0)?;
        }
        Ok(())
    }
}

export_plugin!(NoTool, name: "no_tool_rust", version: "1.0.0", description: "Blocks calls of one tool",
               kinds: watchgate_plugin::KIND_SECURITY, flags: watchgate_plugin::THREAD_SAFE);
