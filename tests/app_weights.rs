//! The training panel's pretrained weights line: for a backbone with published weights and
//! none installed it offers Download; the download shows progress, can be cancelled, and
//! resumes where it stopped when started again; once installed the line says what training
//! starts from. The small CNN offers nothing. Served from 127.0.0.1.
#![cfg(feature = "gui")]

mod app_support;
mod weights_support;

use app_support::*;
use egui::Key;
use egui_kittest::kittest::Queryable;
use egui_kittest::Harness;
use mask_curator::ml::config::Backbone;
use mask_curator::ui::train_panel::TrainPanel;
use mask_curator::ui::MaskCuratorApp;
use std::sync::Arc;
use std::time::Duration;
use weights_support::*;

fn panel<'a>(h: &'a mut Harness<'static, MaskCuratorApp>) -> &'a mut TrainPanel {
    h.state_mut().rt.train_panel.as_mut().unwrap()
}

#[test]
fn download_from_the_panel_with_progress_cancel_and_resume() {
    let (tmp, root) = dataset_in_tempdir();
    let file = tmp.path().join("w.pth");
    write_torch_save(&file, &resnet18_state_dict());
    let name = format!("resnet18-{}.pth", &sha256_hex(&file)[..8]);
    let bytes = Arc::new(std::fs::read(&file).unwrap());
    let server = serve(vec![(
        format!("/{name}"),
        Behaviour::SlowOnce(bytes.clone(), Duration::from_millis(30)),
    )]);
    let models = tmp.path().join("models");

    let mut h = harness(&root);
    h.key_press(Key::F9);
    h.run();
    panel(&mut h).set_weights_location(models.clone(), Some(format!("{}/{name}", server.base)));
    h.run();
    // The default small CNN has no weights to offer.
    h.get_by_label("none (trained from scratch)");
    assert!(h.query_by_label_contains("Download ImageNet").is_none());

    panel(&mut h).config_mut().backbone = Backbone::Resnet18;
    h.run();
    h.get_by_label("none: trains from scratch");
    h.get_by_label("Download ImageNet weights (45 MiB)").click();
    h.run();
    assert!(panel(&mut h).is_downloading());
    // Progress arrives; then Cancel.
    step_until(&mut h, "the first bytes", |app| {
        app.rt.train_panel.as_ref().is_some_and(|p| {
            p.download_progress()
                .is_some_and(|p| p.received > 0 && p.total == Some(bytes.len() as u64))
        })
    });
    h.get_by_label_contains("resnet18");
    h.get_by_label("Cancel download").click();
    h.run();
    step_until(&mut h, "the download to stop", |app| {
        !app.rt.train_panel.as_ref().unwrap().is_downloading()
    });
    assert_eq!(
        panel(&mut h).download_result(),
        Some("download cancelled; Download again resumes it")
    );
    assert!(!models.join("resnet18.safetensors").exists());
    let partial = models.join(format!(".{name}.partial"));
    let kept = std::fs::metadata(&partial).unwrap().len();
    assert!(kept > 0 && kept < bytes.len() as u64, "{kept}");

    // Download again: it resumes and installs.
    h.get_by_label("Download ImageNet weights (45 MiB)").click();
    h.run();
    step_until(&mut h, "the download to finish", |app| {
        !app.rt.train_panel.as_ref().unwrap().is_downloading()
    });
    let result = panel(&mut h).download_result().unwrap().to_string();
    assert!(
        result.starts_with("installed ") && result.contains("resnet18.safetensors"),
        "{result}"
    );
    assert!(models.join("resnet18.safetensors").is_file());
    assert!(!partial.exists());
    let requests = server.requests.lock().unwrap().clone();
    assert_eq!(requests.len(), 2, "{requests:?}");
    let range = requests[1].1.clone().unwrap_or_default();
    let resumed_at: u64 = range
        .trim_start_matches("bytes=")
        .trim_end_matches('-')
        .parse()
        .unwrap();
    assert_eq!(
        resumed_at, kept,
        "resumed where the cancelled download stopped"
    );
    h.run();
    h.get_by_label("✔ ImageNet (resnet18.safetensors)");
    assert!(h.query_by_label_contains("Download ImageNet").is_none());
}
