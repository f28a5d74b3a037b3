//! The eval view (F6): the run's fold models averaged on the eval set, the predicted mix
//! beside the training labels', the scores against eval/gt.csv, and the photos most
//! uncertain first, filtered by a clicked class.
#![cfg(feature = "gui")]

mod app_support;

use app_support::*;
use egui::Key;
use egui_kittest::kittest::{NodeT, Queryable};
use mask_curator::dataset::{ClassCode, NUM_CLASSES};
use std::path::Path;

/// Six eval photos. Fold 1 and fold 2 agree except on row 1 (0.9 on class 4 in one,
/// 0.9 on class 17 in the other: 0.45 each in the mean, uncertain, class 4 first); row 3
/// is uncertain in both (0.3 on class 9, whose truth is 10).
fn write_eval(root: &Path) -> Vec<ClassCode> {
    let images = root.join("eval/images");
    std::fs::create_dir_all(&images).unwrap();
    let mut info = String::from("ImageID,ans\n");
    let mut gt = String::from("ImageID,class\n");
    let predicted = [0usize, 4, 0, 9, 13, 4];
    let truth = [0usize, 4, 0, 10, 13, 4];
    for (r, class) in truth.iter().enumerate() {
        let name = format!("e{r}.png");
        image::RgbImage::from_pixel(24, 32, image::Rgb([200, 40 * r as u8, 90]))
            .save(images.join(&name))
            .unwrap();
        info.push_str(&format!("{name},0\n"));
        gt.push_str(&format!("{name},{class}\n"));
    }
    std::fs::write(root.join("eval/info.csv"), info).unwrap();
    std::fs::write(root.join("eval/gt.csv"), gt).unwrap();
    let run = root.join(".mask-curator/runs/test-run");
    for fold in [1, 2] {
        let mut probs = Vec::new();
        for (r, &c) in predicted.iter().enumerate() {
            let mut row = [0.0f32; NUM_CLASSES];
            match (r, fold) {
                (1, 1) => {
                    row[c] = 0.9;
                    row[0] = 0.1;
                }
                (1, _) => {
                    row[17] = 0.9;
                    row[0] = 0.1;
                }
                (3, _) => {
                    row[c] = 0.3;
                    row[10] = 0.25;
                    row[11] = 0.45 - 0.25;
                    row[12] = 0.25;
                }
                _ => row[c] = 1.0,
            }
            probs.extend_from_slice(&row);
        }
        write_npy(
            &run.join(format!("eval_probs_fold{fold}.npy")),
            predicted.len(),
            NUM_CLASSES,
            &probs,
        );
    }
    predicted
        .iter()
        .map(|&c| ClassCode::from_index(c).unwrap())
        .collect()
}

fn tiles(h: &egui_kittest::Harness<'static, mask_curator::ui::MaskCuratorApp>) -> Vec<String> {
    h.query_all_by_label_contains("eval e")
        .filter_map(|n| n.accesskit_node().label())
        .collect()
}

#[test]
fn the_eval_view_shows_the_runs_predictions_uncertain_first() {
    let (_tmp, root) = dataset_in_tempdir();
    let predicted = write_eval(&root);
    let mut h = harness(&root);
    h.key_press(Key::F6);
    h.run();
    h.get_by_label("Eval set: 6 photos");
    h.get_by_label("Run test-run: the mean of its 2 fold models.");
    // Row 1 (mean 0.45 on class 4 vs 0.5 on class 17) and row 3 (0.3).
    h.get_by_label("2 uncertain (top probability below 0.5)");
    // Five of six right: row 3 is predicted 9, its truth is 10.
    h.get_by_label_contains("eval/gt.csv: accuracy 0.833");
    assert_eq!(tiles(&h)[..2], ["eval e3.png", "eval e1.png"]);

    // Click a class in the mix: only its photos; the photo order follows the checkbox.
    let four = predicted[5];
    h.get_by_label_contains(&format!(" 4 {}", four.describe()))
        .click();
    h.run();
    h.get_by_label(&format!("2 photos predicted {}", four.describe()));
    assert_eq!(tiles(&h), ["eval e1.png", "eval e5.png"]);
    h.get_by_label("All classes").click();
    h.run();
    h.get_by_label("Most uncertain first").click();
    h.run();
    assert_eq!(
        tiles(&h),
        [
            "eval e0.png",
            "eval e1.png",
            "eval e2.png",
            "eval e3.png",
            "eval e4.png",
            "eval e5.png"
        ]
    );
}

#[test]
fn without_eval_predictions_the_view_says_why() {
    let (_tmp, root, mut h) = app_on_dataset();
    h.key_press(Key::F6);
    h.run();
    h.get_by_label("This dataset has no eval/info.csv.");
    drop(h);
    write_eval(&root);
    for fold in [1, 2] {
        std::fs::remove_file(root.join(format!(
            ".mask-curator/runs/test-run/eval_probs_fold{fold}.npy"
        )))
        .unwrap();
    }
    let mut h = harness(&root);
    h.key_press(Key::F6);
    h.run();
    h.get_by_label("Run test-run has no eval predictions (its recipe had predict_eval off).");
    drop(h);
    // A simulated run had no recipe to turn anything off: it never had a model.
    std::fs::write(
        root.join(".mask-curator/runs/test-run/simulation.json"),
        "{}",
    )
    .unwrap();
    let mut h = harness(&root);
    h.key_press(Key::F6);
    h.run();
    h.get_by_label_contains("Run test-run is simulated (mask-curator simulate)");
}

#[test]
fn the_class_mix_stays_clear_of_the_photos_beside_the_training_panel() {
    let (_tmp, root) = dataset_in_tempdir();
    write_eval(&root);
    let mut h = harness_sized(&root, [1100.0, 800.0]);
    h.key_press(Key::F6);
    h.run();
    // Beside the training panel the view is left with about 750 points: half of it is
    // narrower than the table.
    h.key_press(Key::F9);
    h.run();
    let mix_right = h
        .query_all_by_label_contains("% (")
        .chain(h.query_all_by_label("shift"))
        .map(|n| n.rect().max.x)
        .fold(f32::MIN, f32::max);
    let tiles_left = h
        .query_all_by_label_contains("eval e")
        .map(|n| n.rect().min.x)
        .fold(f32::MAX, f32::min);
    assert!(
        mix_right > 0.0 && tiles_left < 1100.0,
        "table at {mix_right}, tiles at {tiles_left}"
    );
    assert!(
        mix_right < tiles_left,
        "the class mix table (right edge {mix_right}) runs under the photos (left edge {tiles_left})"
    );
}
