// The mirror's migrations are embedded with include_str!; rebuild when one changes.
fn main() {
    println!("cargo:rerun-if-changed=../../migrations/sqlite");
}
