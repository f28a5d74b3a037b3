//! `mask-curator weights fetch` end to end, against an HTTP server on 127.0.0.1 standing in
//! for torchvision's (through MASK_CURATOR_WEIGHTS_MIRROR, as a company mirror would): the
//! download is checked, converted and installed where training looks; an interrupted
//! download resumes; a damaged file, a file of another network, an oversized answer and a
//! pickle that would run code install nothing.

mod weights_support;

use mask_curator::weights::safetensors;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;
use weights_support::*;

const FILE: &str = "resnet18-f37072fd.pth";

fn run(cwd: &Path, mirror: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mask-curator"))
        .current_dir(cwd)
        .env("MASK_CURATOR_WEIGHTS_MIRROR", mirror)
        .args(args)
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A resnet18 state dict saved under a name whose hash prefix is its real one, as
/// torchvision names its files. Returns (file bytes, served name).
fn published_resnet18(dir: &Path) -> (Arc<Vec<u8>>, String) {
    let path = dir.join("resnet18.pth");
    write_torch_save(&path, &resnet18_state_dict());
    let name = format!("resnet18-{}.pth", &sha256_hex(&path)[..8]);
    (Arc::new(std::fs::read(&path).unwrap()), name)
}

fn models(cwd: &Path) -> PathBuf {
    cwd.join("models")
}

fn leftovers(cwd: &Path) -> Vec<String> {
    std::fs::read_dir(models(cwd))
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn fetch_installs_checked_weights_where_training_finds_them() {
    let tmp = tempfile::tempdir().unwrap();
    let (bytes, name) = published_resnet18(tmp.path());
    let server = serve(vec![(format!("/mirror/{name}"), Behaviour::Serve(bytes))]);
    let cwd = tmp.path().join("work");
    std::fs::create_dir_all(&cwd).unwrap();
    // The catalogue's file name is torchvision's; the mirror serves our file under its own
    // name, so point at it with --url (the mirror variable is tested below).
    let url = format!("{}/mirror/{name}", server.base);
    let out = run(&cwd, "", &["weights", "fetch", "resnet18", "--url", &url]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("11176512 backbone parameters"),
        "{}",
        text(&out)
    );

    let installed = models(&cwd).join("resnet18.safetensors");
    let header = safetensors::read_header(&installed).unwrap();
    // BatchNorm's step counters are left out; everything else is there, classifier too
    // (the worker skips it).
    assert_eq!(header.tensors.len(), 122 - 20);
    assert!(header.tensors.iter().all(|t| !t.0.contains("num_batches")));
    assert_eq!(header.metadata["source"], url);
    assert_eq!(header.metadata["weights"], "torchvision IMAGENET1K_V1");
    assert!(name.contains(&header.metadata["sha256"][..8]));
    // The values are the file's: conv1.weight's bytes, found in the installed file.
    let conv1 = resnet18_state_dict().remove(0);
    let file = std::fs::read(&installed).unwrap();
    assert!(file.windows(64).any(|w| w == &conv1.data[..64]));
    assert_eq!(leftovers(&cwd), ["resnet18.safetensors"], "no partial left");

    // The listing says so; a second fetch refuses to overwrite without --replace.
    let list = run(&cwd, "", &["weights"]);
    assert!(
        text(&list).contains(
            "installed: models/resnet18.safetensors (102 tensors, torchvision IMAGENET1K_V1)"
        ),
        "{}",
        text(&list)
    );
    let again = run(&cwd, "", &["weights", "fetch", "resnet18", "--url", &url]);
    assert!(!again.status.success());
    assert!(text(&again).contains("--replace"), "{}", text(&again));
    let replaced = run(
        &cwd,
        "",
        &["weights", "fetch", "resnet18", "--url", &url, "--replace"],
    );
    assert!(replaced.status.success(), "{}", text(&replaced));
}

#[test]
fn the_mirror_serves_torchvisions_file_names_and_a_cut_download_resumes() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("x.pth");
    write_torch_save(&path, &resnet18_state_dict());
    let bytes = Arc::new(std::fs::read(&path).unwrap());
    // Under torchvision's name the hash prefix cannot match our file: served as is, the
    // download is refused after it arrives, and the partial file is deleted.
    let server = serve(vec![(
        format!("/tv/{FILE}"),
        Behaviour::Serve(bytes.clone()),
    )]);
    let cwd = tmp.path().join("work");
    std::fs::create_dir_all(&cwd).unwrap();
    let out = run(
        &cwd,
        &format!("{}/tv/", server.base),
        &["weights", "fetch", "resnet18"],
    );
    assert!(!out.status.success());
    let says = text(&out);
    assert!(
        says.contains(&format!("{}/tv/{FILE}", server.base))
            && says.contains("promises one starting f37072fd")
            && says.contains("nothing was installed"),
        "{says}"
    );
    assert!(leftovers(&cwd).is_empty(), "{:?}", leftovers(&cwd));

    // A file whose name matches its hash, cut off after 1 MB the first time.
    let (bytes, name) = published_resnet18(tmp.path());
    let cut_at = 1 << 20;
    let server = serve(vec![(
        format!("/m/{name}"),
        Behaviour::CutOnce(bytes.clone(), cut_at),
    )]);
    let url = format!("{}/m/{name}", server.base);
    let first = run(&cwd, "", &["weights", "fetch", "resnet18", "--url", &url]);
    assert!(!first.status.success());
    assert!(
        text(&first).contains("run it again to resume"),
        "{}",
        text(&first)
    );
    let partial = models(&cwd).join(format!(".{name}.partial"));
    assert_eq!(std::fs::metadata(&partial).unwrap().len(), cut_at as u64);
    assert!(!models(&cwd).join("resnet18.safetensors").exists());

    let second = run(&cwd, "", &["weights", "fetch", "resnet18", "--url", &url]);
    assert!(second.status.success(), "{}", text(&second));
    assert!(
        text(&second).contains(&format!(
            "resumed an interrupted download at {cut_at} bytes"
        )),
        "{}",
        text(&second)
    );
    let requests = server.requests.lock().unwrap().clone();
    assert_eq!(requests.len(), 2, "{requests:?}");
    assert_eq!(requests[1].1.as_deref(), Some(&*format!("bytes={cut_at}-")));
    assert_eq!(leftovers(&cwd), ["resnet18.safetensors"]);
}

#[test]
fn what_is_not_the_backbones_weights_installs_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path().join("work");
    std::fs::create_dir_all(&cwd).unwrap();

    // A resnet18 file offered as resnet34.
    let (bytes, name) = published_resnet18(tmp.path());
    // A pickle that would run a shell command when loaded in Python.
    let evil_path = tmp.path().join("evil.pth");
    let tensors = resnet18_state_dict();
    let mut pickle = state_dict_pickle(&tensors);
    let payload = b"\x80\x02cposix\nsystem\nX\x04\x00\x00\x00trueq\x00\x85R.";
    pickle.splice(0..pickle.len(), payload.iter().copied());
    write_torch_save_with(&evil_path, &pickle, &tensors);
    let evil = Arc::new(std::fs::read(&evil_path).unwrap());
    let evil_name = format!("resnet18-{}.pth", &sha256_hex(&evil_path)[..8]);

    let server = serve(vec![
        (format!("/{name}"), Behaviour::Serve(bytes)),
        (format!("/{evil_name}"), Behaviour::Serve(evil)),
        ("/huge-0000aaaa.pth".into(), Behaviour::ClaimsSize(50 << 30)),
    ]);
    let cases = [
        ("resnet34", format!("/{name}"), "not resnet34 weights"),
        ("resnet18", format!("/{evil_name}"), "posix.system"),
        (
            "resnet18",
            "/huge-0000aaaa.pth".to_string(),
            "more than twice",
        ),
        ("resnet18", "/missing.pth".to_string(), "HTTP 404"),
    ];
    for (backbone, path, says) in cases {
        let url = format!("{}{path}", server.base);
        let out = run(&cwd, "", &["weights", "fetch", backbone, "--url", &url]);
        assert!(!out.status.success(), "{path}");
        assert!(text(&out).contains(says), "{path}: {}", text(&out));
        assert!(
            leftovers(&cwd).iter().all(|f| !f.ends_with(".safetensors")),
            "{path}: {:?}",
            leftovers(&cwd)
        );
    }
    // The small CNN has nothing to fetch; --from installs a local file without a network.
    let out = run(&cwd, "", &["weights", "fetch", "small_cnn"]);
    assert!(
        text(&out).contains("trained from scratch"),
        "{}",
        text(&out)
    );
    let local = tmp.path().join(&name);
    std::fs::copy(tmp.path().join("resnet18.pth"), &local).unwrap();
    let out = run(
        &cwd,
        "",
        &[
            "weights",
            "fetch",
            "resnet18",
            "--from",
            local.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(models(&cwd).join("resnet18.safetensors").is_file());
}
