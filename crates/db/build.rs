//! `sqlx::migrate!` embeds the migrations at compile time; rebuild this crate
//! whenever one is added or changed, or a stale binary would run old SQL.
fn main() {
    println!("cargo:rerun-if-changed=../../migrations");
}
