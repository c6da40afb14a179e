//! A licence node's audit log, as `ddrm licence audit verify` reads one: every line parsed and
//! its hash chain checked.
#![no_main]
use std::io::Write;

use ddrm_fuzz::MAX_INPUT;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() > MAX_INPUT {
        return;
    }
    // The verifier reads a file: one per fuzzing process, in memory when /dev/shm exists.
    let dir = if std::path::Path::new("/dev/shm").is_dir() {
        std::path::PathBuf::from("/dev/shm")
    } else {
        std::env::temp_dir()
    };
    let path = dir.join(format!("ddrm-fuzz-audit-{}.log", std::process::id()));
    let mut file = std::fs::File::create(&path).expect("a scratch file");
    file.write_all(data).expect("written");
    drop(file);
    let _ = licence_net::audit::verify_file(&path);
});
