//! The `ssmix` command-line tool.

fn main() {
    println!("ssmix {}", env!("CARGO_PKG_VERSION"));
}
