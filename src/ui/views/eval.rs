//! Eval: the run's predictions on the eval set, for the engineer about to submit. The
//! predicted class mix beside the training labels' (shifts in amber), the true scores when
//! the dataset has `eval/gt.csv`, and the eval photos with their predicted class and
//! confidence, most uncertain first, filterable by predicted class; hovering a photo shows
//! its three most probable classes and predicted age.

use crate::dataset::{ClassCode, NUM_CLASSES};
use crate::ui::app::Runtime;
use crate::ui::thumb_textures::PhotoKey;
use crate::ui::widgets::{class_color, photo_content, photo_tile_ui, PhotoSource, AMBER};
use crate::workbench::eval::{self, EvalPredictions, EvalSummary, UNCERTAIN_BELOW};
use egui::Vec2;
use std::path::PathBuf;
use std::sync::Arc;

/// A predicted share this many points away from the training share is called out.
const SHIFT_POINTS: f64 = 3.0;

/// The eval view's loaded predictions (for one run) and its settings.
pub struct EvalViewState {
    /// The run folder the predictions are from (unique across datasets).
    pub run_dir: PathBuf,
    pub run_id: String,
    pub loaded: Result<Option<(Arc<EvalPredictions>, EvalSummary)>, String>,
    /// Show only photos predicted as this class.
    pub class: Option<ClassCode>,
    pub uncertain_first: bool,
    /// The rows shown, for the (class, uncertain_first) they were ordered by: sorted once
    /// per change of either, not every frame.
    order: Option<(Option<ClassCode>, bool, Vec<usize>)>,
}

pub fn eval_ui(ui: &mut egui::Ui, rt: &mut Runtime) {
    let Some(session) = &rt.session else { return };
    let Some(eval_set) = &session.dataset.eval else {
        ui.heading("Eval set");
        ui.label("This dataset has no eval/info.csv.");
        return;
    };
    let Some(probs) = &session.probs else {
        ui.heading("Eval set");
        ui.label(format!(
            "{} eval photos. No finished run yet: train one (F9) to see its predictions here.",
            eval_set.image_ids.len()
        ));
        return;
    };
    if rt.eval_view.as_ref().is_none_or(|v| v.run_dir != probs.dir) {
        let loaded = eval::load(&probs.dir, &probs.run_id, eval_set.image_ids.len()).map(|p| {
            p.map(|p| {
                let summary = eval::summarize(&p, &session.dataset, |person, slot| {
                    session.class_of(person, slot)
                });
                (Arc::new(p), summary)
            })
        });
        rt.eval_view = Some(EvalViewState {
            run_dir: probs.dir.clone(),
            run_id: probs.run_id.clone(),
            loaded,
            class: None,
            uncertain_first: true,
            order: None,
        });
    }
    let Some(view) = rt.eval_view.as_mut() else {
        return;
    };
    ui.heading(format!("Eval set: {} photos", eval_set.image_ids.len()));
    let (preds, summary) = match &view.loaded {
        Err(e) => {
            ui.colored_label(
                AMBER,
                format!("Cannot read run {}'s eval predictions: {e}", view.run_id),
            );
            return;
        }
        Ok(None) => {
            ui.label(
                if crate::ml::run::RunDir::new(&view.run_dir).is_simulated() {
                    format!(
                        "Run {} is simulated (mask-curator simulate): it has out-of-fold \
                         probabilities only, no model to predict the eval set. Train a run (F9) \
                         to see its predictions here.",
                        view.run_id
                    )
                } else {
                    format!(
                        "Run {} has no eval predictions (its recipe had predict_eval off).",
                        view.run_id
                    )
                },
            );
            return;
        }
        Ok(Some((p, s))) => (p.clone(), s.clone()),
    };
    ui.horizontal_wrapped(|ui| {
        ui.label(format!(
            "Run {}: the mean of its {} fold models.",
            view.run_id, preds.folds
        ));
        ui.separator();
        ui.label(format!(
            "{} uncertain (top probability below {UNCERTAIN_BELOW})",
            summary.uncertain
        ));
        if let Some((acc, f1)) = summary.scores {
            ui.separator();
            ui.strong(format!("eval/gt.csv: accuracy {acc:.3}, macro F1 {f1:.3}"));
        }
    });
    ui.add_space(4.0);
    let root = session.root().to_path_buf();
    // The table takes the width it needs and the photos the rest: two equal columns let
    // the photos cover the table's last column when the training panel narrows the view.
    ui.horizontal_top(|ui| {
        ui.vertical(|ui| mix_ui(ui, &summary, view));
        ui.separator();
        ui.vertical(|ui| {
            photos_ui(
                ui,
                &preds,
                &eval_set.image_ids,
                &root,
                view,
                rt.thumbs.as_mut(),
            )
        });
    });
}

/// Per class: training share, predicted share, and the shift between them.
fn mix_ui(ui: &mut egui::Ui, summary: &EvalSummary, view: &mut EvalViewState) {
    ui.strong("Predicted class mix vs training labels");
    ui.weak("Click a class to show its photos.");
    let train_total: usize = summary.train.iter().sum();
    egui::Grid::new("eval_mix")
        .num_columns(4)
        .striped(true)
        .show(ui, |ui| {
            ui.label("class");
            ui.label("train");
            ui.label("eval predicted");
            ui.label("shift");
            ui.end_row();
            for c in 0..NUM_CLASSES {
                let code = ClassCode::from_index(c).expect("class index");
                let chosen = view.class == Some(code);
                let name = egui::RichText::new(format!("{c:>2} {}", code.describe())).monospace();
                ui.horizontal(|ui| {
                    // The class's colour as a swatch: some are too dark for text.
                    let (swatch, _) =
                        ui.allocate_exact_size(Vec2::splat(10.0), egui::Sense::hover());
                    ui.painter().rect_filled(swatch, 2.0, class_color(c));
                    if ui.selectable_label(chosen, name).clicked() {
                        view.class = if chosen { None } else { Some(code) };
                    }
                });
                let pct = |n: usize, of: usize| 100.0 * n as f64 / of.max(1) as f64;
                ui.label(format!("{:5.1}%", pct(summary.train[c], train_total)));
                ui.label(format!(
                    "{:5.1}% ({})",
                    pct(summary.predicted[c], summary.photos),
                    summary.predicted[c]
                ));
                let shift = summary.shift(c);
                let text = format!("{shift:+.1}");
                if shift.abs() >= SHIFT_POINTS {
                    ui.colored_label(AMBER, text)
                        .on_hover_text("the eval predictions differ from the training mix here");
                } else {
                    ui.weak(text);
                }
                ui.end_row();
            }
        });
}

/// The eval photos as tiles: predicted class and confidence under each.
fn photos_ui(
    ui: &mut egui::Ui,
    preds: &EvalPredictions,
    image_ids: &[String],
    root: &std::path::Path,
    view: &mut EvalViewState,
    mut thumbs: Option<&mut crate::ui::thumb_textures::ThumbTextures>,
) {
    let key = (view.class, view.uncertain_first);
    if view.order.as_ref().is_none_or(|(c, u, _)| (*c, *u) != key) {
        view.order = Some((key.0, key.1, preds.rows(key.0, key.1)));
    }
    let rows = view.order.as_ref().map(|o| o.2.clone()).unwrap_or_default();
    ui.horizontal_wrapped(|ui| {
        ui.label(match view.class {
            Some(c) => format!("{} photos predicted {}", rows.len(), c.describe()),
            None => format!("{} photos", rows.len()),
        });
        if view.class.is_some() && ui.small_button("All classes").clicked() {
            view.class = None;
        }
        ui.checkbox(&mut view.uncertain_first, "Most uncertain first");
    });
    let tile = Vec2::new(90.0, 120.0);
    let cell = Vec2::new(tile.x + 8.0, tile.y + 34.0);
    let cols = ((ui.available_width() / cell.x).floor() as usize).max(1);
    let lines = rows.len().div_ceil(cols);
    egui::ScrollArea::vertical()
        .id_salt("eval_photos")
        .auto_shrink([false, false])
        .show_rows(ui, cell.y, lines, |ui, range| {
            for line in range {
                ui.horizontal_top(|ui| {
                    for &r in &rows[line * cols..((line + 1) * cols).min(rows.len())] {
                        ui.vertical(|ui| {
                            ui.set_width(tile.x);
                            let (class, prob) = preds.predicted(r);
                            // Only the tiles on screen need a path.
                            let rel_path = std::path::Path::new("eval/images").join(&image_ids[r]);
                            let source = PhotoSource {
                                key: PhotoKey::eval(r),
                                root,
                                rel_path: &rel_path,
                            };
                            let response = photo_tile_ui(
                                ui,
                                tile,
                                photo_content(thumbs.as_deref_mut(), Some(source), &image_ids[r]),
                                false,
                                prob < UNCERTAIN_BELOW,
                                &format!("eval {}", image_ids[r]),
                            );
                            response.on_hover_ui(|ui| {
                                ui.label(&image_ids[r]);
                                for (c, p) in preds.top3(r) {
                                    ui.label(format!("{:5.1}%  {}", p * 100.0, c.describe()));
                                }
                                if let Some(y) = preds.years.as_ref().and_then(|y| y.get(r)) {
                                    ui.label(format!("age {:.0} ± {:.0} years", y[0], y[1]));
                                }
                            });
                            ui.add(
                                egui::Label::new(egui::RichText::new(class.describe()).small())
                                    .truncate(),
                            );
                            ui.small(crate::issues::percent_text(prob));
                        });
                    }
                });
            }
        });
}
