//! The layering of docs/architecture.md, checked on the sources: the core knows no front
//! end, no GUI and no torch; the workbench knows no front end; the app never reaches into
//! the command line (the command line may start the app).

use std::path::{Path, PathBuf};

fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// Every line of the module's files that names one of `forbidden` (comments excluded).
fn offending(module: &str, forbidden: &[&str]) -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let path = if module.is_empty() {
        root.clone()
    } else {
        root.join(module)
    };
    let files = if path.is_dir() {
        sources(&path)
    } else {
        vec![path.with_extension("rs")]
    };
    assert!(!files.is_empty(), "no sources for {module}");
    let mut hits = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            for f in forbidden {
                if code.contains(f) {
                    hits.push(format!("{}:{}: {}", file.display(), n + 1, line.trim()));
                }
            }
        }
    }
    hits
}

#[test]
fn the_app_never_reaches_into_the_command_line() {
    let hits = offending("ui", &["crate::cli", "super::cli", "super::super::cli"]);
    assert!(hits.is_empty(), "ui/ imports cli/:\n{}", hits.join("\n"));
}

#[test]
fn the_core_and_the_workbench_know_no_front_end_gui_or_torch() {
    for module in [
        "arrays",
        "weights",
        "curation",
        "dataset",
        "demo",
        "issues",
        "simulate",
        "thumbs",
        "workbench",
        "workspace",
        "stats",
        "metrics",
    ] {
        let hits = offending(
            module,
            &["crate::ui", "crate::cli", "egui", "eframe", "tch::"],
        );
        assert!(
            hits.is_empty(),
            "{module} reaches a front end, the GUI or torch:\n{}",
            hits.join("\n")
        );
    }
}

#[test]
fn libtorch_stays_in_the_worker_package() {
    // The app and the command line must not link libtorch (0.4 s and 500 MB per start,
    // and an abort inside it would take the annotator's window down): no torch crate in
    // this package's manifest, no torch path anywhere in its sources.
    let manifest =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml")).unwrap();
    let deps: Vec<&str> = manifest
        .lines()
        .filter(|l| l.starts_with("tch") || l.starts_with("torch-sys"))
        .collect();
    assert!(deps.is_empty(), "torch in Cargo.toml: {deps:?}");
    let hits = offending("", &["tch::", "torch_sys", "mask_curator_ml"]);
    assert!(hits.is_empty(), "torch in src/:\n{}", hits.join("\n"));
}

#[cfg(target_os = "linux")]
#[test]
fn the_mask_curator_binary_does_not_link_libtorch() {
    // The names a dynamic section lists when libtorch is linked (`readelf -d` shows them
    // as NEEDED); the worker's binary has them, this one must not.
    let bin = env!("CARGO_BIN_EXE_mask-curator");
    let bytes = std::fs::read(bin).unwrap();
    for lib in [&b"libtorch.so"[..], b"libtorch_cpu.so", b"libc10.so"] {
        assert!(
            !bytes.windows(lib.len()).any(|w| w == lib),
            "{bin} names {}",
            String::from_utf8_lossy(lib)
        );
    }
}
