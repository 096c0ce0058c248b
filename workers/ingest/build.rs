//! Builds the tracker (tracker/src/beacon.js) with the pinned esbuild from
//! npm and embeds it, with its ETag, in the worker. The built file is never
//! committed or edited by hand.

// A build script stops the build with a message: no request is in flight.
#![allow(clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::{env, fs, path::PathBuf, process::Command};

use sha2::{Digest, Sha256};

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let root = manifest.join("../..");
    let src = root.join("tracker/src/beacon.js");
    println!("cargo:rerun-if-changed={}", src.display());
    let esbuild = root.join("node_modules/.bin/esbuild");
    let out = Command::new(&esbuild)
        .arg(&src)
        .args(["--minify", "--target=es2020", "--log-level=warning"])
        .output()
        .unwrap_or_else(|e| panic!("cannot run {} ({e}): run scripts/setup (npm ci) first", esbuild.display()));
    assert!(out.status.success(), "esbuild failed: {}", String::from_utf8_lossy(&out.stderr));
    let script = String::from_utf8(out.stdout).expect("esbuild writes UTF-8");
    let script = script.trim_end();
    let digest = Sha256::digest(script.as_bytes());
    let etag: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    let out_dir = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    fs::write(out_dir.join("script.js"), script).expect("write script.js");
    fs::write(out_dir.join("script.etag"), etag).expect("write script.etag");
}
