fn main() {
    napi_build::setup();
    // Reported by `buildInfo()` (the program's `--version`).
    for key in ["TARGET", "PROFILE"] {
        println!(
            "cargo:rustc-env=AXON_BUILD_{key}={}",
            std::env::var(key).unwrap_or_else(|_| "unknown".into())
        );
    }
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let version = std::process::Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|| "rustc unknown".into());
    println!("cargo:rustc-env=AXON_BUILD_RUSTC={version}");
}
