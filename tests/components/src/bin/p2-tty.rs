//! Whether the standard streams are terminals (wasi:cli/terminal-*), as the program sees them.
use std::io::IsTerminal;

fn main() {
    println!(
        "stdin {} stdout {} stderr {}",
        std::io::stdin().is_terminal(),
        std::io::stdout().is_terminal(),
        std::io::stderr().is_terminal()
    );
}
