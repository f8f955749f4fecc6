//! The plugin's test: `watchgate simulate` (the gateway from $WATCHGATE, else PATH) runs
//! test/messages.jsonl through test/gateway.yaml with the freshly built libno_tool_rust.so.
use std::path::PathBuf;
use std::process::Command;

fn simulate() -> String {
    let folder = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    // `cargo test` leaves the cdylib beside this test program, in target/<profile>/deps.
    let deps_dir = std::env::current_exe().unwrap().parent().unwrap().to_path_buf();
    let watchgate = std::env::var("WATCHGATE").unwrap_or_else(|_| "watchgate".to_string());
    let output = Command::new(&watchgate)
        .args(["simulate", "--config"])
        .arg(folder.join("test/gateway.yaml"))
        .arg("--input")
        .arg(folder.join("test/messages.jsonl"))
        .env("WATCHGATE_PLUGIN_PATH", &deps_dir)
        .output()
        .unwrap_or_else(|error| panic!("cannot run {}: {}", watchgate, error));
    let text = String::from_utf8_lossy(&output.stdout).to_string() + &String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "watchgate simulate failed:\n{}", text);
    text
}

#[test]
fn blocks_the_configured_tool() {
    let output = simulate();
    assert!(
        output.contains("Request blocked: no_tool_rust: this tool is not allowed (session "),
        "{}",
        output
    );
}

#[test]
fn lets_other_tools_through() {
    let output = simulate();
    assert!(output.contains("request 2 tools/call ls\n  [no_tool_rust] allowed"), "{}", output);
    assert!(output.contains("  => allowed: forwarded {\"jsonrpc\":\"2.0\",\"id\":2"), "{}", output);
}
