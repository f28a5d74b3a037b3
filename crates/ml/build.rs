//! Links libtorch so that the binary starts without LD_LIBRARY_PATH and really loads
//! `libtorch.so` (and with it `libtorch_cuda.so` on machines that have CUDA).

use std::path::PathBuf;

#[path = "src/version_py.rs"]
mod version_py;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=LIBTORCH");
    println!("cargo:rerun-if-changed=src/version_py.rs");
    let Some(libtorch) = std::env::var_os("LIBTORCH").map(PathBuf::from) else {
        panic!(
            "LIBTORCH is not set: run scripts/setup.sh, which links .libtorch to libtorch 2.13.0"
        );
    };
    // The version of the libtorch linked here, for `mask-curator doctor` (torch-sys exposes
    // no version getter). At run time doctor prefers the version file next to the library
    // actually loaded; this is the fallback.
    let version_file = libtorch.join("version.py");
    println!("cargo:rerun-if-changed={}", version_file.display());
    let version = std::fs::read_to_string(&version_file)
        .ok()
        .and_then(|text| version_py::parse_version_py(&text))
        .unwrap_or_else(|| "unknown".to_string());
    println!("cargo:rustc-env=MASK_CURATOR_BUILD_TORCH_VERSION={version}");
    let lib_dir = libtorch.join("lib");
    if !lib_dir.join("libtorch.so").exists() && !lib_dir.join("libtorch_cpu.so").exists() {
        panic!(
            "no libtorch under {}: run scripts/setup.sh (or set MASK_CURATOR_LIBTORCH to an existing torch 2.13.0 directory)",
            lib_dir.display()
        );
    }
    let lib_dir = lib_dir.display();
    println!("cargo:rustc-link-search=native={lib_dir}");
    println!("cargo:rustc-link-arg=-Wl,-rpath,{lib_dir}");
    // Without --no-as-needed the linker drops libtorch.so (nothing references it directly),
    // and libtorch_cuda.so is then never loaded: CUDA silently stays unavailable.
    println!("cargo:rustc-link-arg=-Wl,--no-as-needed");
    println!("cargo:rustc-link-arg=-ltorch");
    println!("cargo:rustc-link-arg=-Wl,--as-needed");
}
