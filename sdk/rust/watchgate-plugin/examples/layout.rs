//! Prints the crate's view of the ABI's layout (see src/layout.rs).
fn main() {
    print!("{}", watchgate_plugin::layout_report());
}
