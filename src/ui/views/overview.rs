//! Overview: sizes, counts per field and per class (curated labels, with the given ones for
//! comparison), the scan's problems, and the estimated noise per field when issues exist.

use crate::dataset::{Field, NUM_CLASSES};
use crate::photo_checks::CheckKind;
use crate::ui::app::Runtime;
use crate::ui::commands::Command;
use crate::ui::state::{PersistentState, View};
use crate::ui::widgets::{class_color, value_color, AMBER};
use crate::workbench::queries::counts;
use crate::workbench::queries::PeopleFilter;
use crate::workbench::session::Session;
use egui::{Color32, Sense, Vec2};

pub fn overview_ui(
    ui: &mut egui::Ui,
    state: &mut PersistentState,
    rt: &mut Runtime,
    commands: &mut Vec<Command>,
) {
    let Some(session) = &rt.session else { return };
    let fresh = rt
        .overview_counts
        .as_ref()
        .is_some_and(|c| c.generation == session.generation);
    if !fresh {
        rt.overview_counts = Some(counts(session));
    }
    let Some(counts) = &rt.overview_counts else {
        return;
    };
    let rt_analysed = (
        rt.embeddings_analysed.as_deref(),
        rt.embeddings_error.as_deref(),
    );
    egui::ScrollArea::vertical()
        .id_salt("overview")
        .show(ui, |ui| {
            // The width on screen (beside the training panel, when open), taken before
            // anything could widen the content past it.
            let full = ui.available_width();
            ui.heading(session.root().display().to_string());
            ui.horizontal(|ui| {
                ui.label(format!("{} people", counts.people));
                ui.separator();
                ui.label(format!("{} photos", counts.photos));
                if let Some(eval) = &session.dataset.eval {
                    ui.separator();
                    ui.label(format!("{} eval images", eval.image_ids.len()));
                }
                ui.separator();
                ui.label(crate::workbench::queries::counted(
                    session.dataset.problems.len(),
                    "problem",
                ));
                let noted = session.notes_count();
                if noted > 0 {
                    ui.separator();
                    let text = format!(
                        "{} with a note",
                        crate::workbench::queries::counted_people(noted)
                    );
                    if ui
                        .link(text)
                        .on_hover_text("The annotators' notes: show these people")
                        .clicked()
                    {
                        commands.push(Command::ShowPeopleOnly {
                            people: session.noted_people(),
                            name: "With a note".into(),
                        });
                    }
                }
            });
            ui.add_space(8.0);
            ui.columns(3, |cols| {
                for (col, (field, given, curated)) in cols.iter_mut().zip(&counts.fields) {
                    let unit = if *field == Field::Mask {
                        "photos"
                    } else {
                        "people"
                    };
                    col.strong(format!("{} ({unit})", field.name()));
                    field_bars_ui(col, *field, given, curated);
                }
            });
            ui.add_space(12.0);
            ui.strong("Photos per class (curated; outline = as given)");
            class_chart_ui(ui, full, &counts.class_given, &counts.class_curated);
            ui.add_space(12.0);
            issues_summary_ui(ui, session, commands);
            ui.add_space(12.0);
            // What the photos themselves show, side by side: the photo checks and the
            // run's embeddings.
            // Side by side when there is room, else one above the other.
            const CHECKS_WIDTH: f32 = 420.0;
            if full >= 2.0 * CHECKS_WIDTH + 24.0 {
                ui.horizontal_top(|ui| {
                    ui.vertical(|ui| {
                        ui.set_width(CHECKS_WIDTH);
                        photo_checks_ui(ui, session, state, commands);
                    });
                    ui.add_space(24.0);
                    ui.vertical(|ui| {
                        embeddings_ui(ui, session, rt_analysed, state, commands);
                    });
                });
            } else {
                photo_checks_ui(ui, session, state, commands);
                ui.add_space(12.0);
                embeddings_ui(ui, session, rt_analysed, state, commands);
            }
            identities_ui(ui, session, commands);
            ui.add_space(12.0);
            problems_ui(ui, session);
        });
}

/// The ids the annotator decided are one person, and the groups whose labels disagree.
fn identities_ui(ui: &mut egui::Ui, session: &Session, commands: &mut Vec<Command>) {
    let identities = session.identities();
    let groups = identities.groups();
    if groups.is_empty() {
        return;
    }
    ui.add_space(12.0);
    ui.strong("One person under several ids (your decisions)");
    let conflicts = session.identity_conflicts();
    ui.horizontal(|ui| {
        ui.label(format!(
            "{}: training keeps each group in one fold; the export lists them (same_person.csv).",
            identities.counts_text()
        ));
        if ui.button("Show these people").clicked() {
            let mut people: Vec<usize> = groups.iter().flatten().copied().collect();
            people.sort_unstable();
            commands.push(Command::ShowPeopleOnly {
                people,
                name: "One person, several ids".into(),
            });
        }
    });
    if !conflicts.is_empty() {
        ui.horizontal(|ui| {
            ui.colored_label(
                AMBER,
                match conflicts.len() {
                    1 => "⚠ 1 group has labels that disagree".to_string(),
                    n => format!("⚠ {n} groups have labels that disagree"),
                },
            );
            if ui.button("Show them").clicked() {
                let mut people: Vec<usize> =
                    conflicts.iter().flat_map(|c| c.people.clone()).collect();
                people.sort_unstable();
                commands.push(Command::ShowPeopleOnly {
                    people,
                    name: "Ids whose labels disagree".into(),
                });
            }
        });
        for c in conflicts.iter().take(5) {
            ui.horizontal_wrapped(|ui| {
                for &p in &c.people {
                    if ui.link(session.folder(p)).clicked() {
                        commands.push(Command::OpenPerson(p));
                    }
                }
                ui.weak(crate::workbench::queries::describe_identity_conflict(
                    session, c,
                ));
            });
        }
    }
}

fn field_bars_ui(ui: &mut egui::Ui, field: Field, given: &[usize], curated: &[usize]) {
    let max = given
        .iter()
        .chain(curated)
        .copied()
        .max()
        .unwrap_or(1)
        .max(1) as f32;
    // The bars give way first in a narrow column: the counts beside them must show.
    const NAME: f32 = 64.0;
    const COUNT: f32 = 84.0;
    let spacing = 2.0 * ui.spacing().item_spacing.x;
    let bar_width = (ui.available_width() - NAME - COUNT - spacing).clamp(40.0, 150.0);
    for (i, (&g, &c)) in given.iter().zip(curated).enumerate() {
        ui.horizontal(|ui| {
            ui.add_sized([NAME, 18.0], egui::Label::new(field.class_name(i)));
            let (rect, _) = ui.allocate_exact_size(Vec2::new(bar_width, 14.0), Sense::hover());
            let painter = ui.painter();
            painter.rect_filled(rect, 3.0, ui.visuals().extreme_bg_color);
            let mut bar = rect;
            bar.set_width(rect.width() * c as f32 / max);
            painter.rect_filled(bar, 3.0, value_color(field, i));
            let delta = c as i64 - g as i64;
            if delta == 0 {
                ui.label(c.to_string());
            } else {
                ui.label(format!("{c} ({delta:+})"));
            }
        });
    }
}

/// The photos per class as bars, `full` wide at most (the width on screen).
fn class_chart_ui(
    ui: &mut egui::Ui,
    full: f32,
    given: &[usize; NUM_CLASSES],
    curated: &[usize; NUM_CLASSES],
) {
    let height = 140.0;
    // Room above the tallest bar for its count, below the bars for the class numbers.
    let (label_above, label_below) = (14.0, 18.0);
    let width = full.min(900.0);
    let (rect, response) = ui.allocate_exact_size(
        Vec2::new(width, label_above + height + label_below),
        Sense::hover(),
    );
    response.widget_info(|| {
        egui::WidgetInfo::labeled(egui::Role::Image, true, "photos per class chart")
    });
    let max = given
        .iter()
        .chain(curated.iter())
        .copied()
        .max()
        .unwrap_or(1)
        .max(1) as f32;
    let slot = width / NUM_CLASSES as f32;
    let painter = ui.painter_at(rect);
    let text_color = ui.visuals().text_color();
    for class in 0..NUM_CLASSES {
        let x = rect.left() + slot * class as f32 + slot * 0.15;
        let w = slot * 0.7;
        let base = rect.top() + label_above + height;
        let h = height * curated[class] as f32 / max;
        let bar = egui::Rect::from_min_max(egui::pos2(x, base - h), egui::pos2(x + w, base));
        painter.rect_filled(bar, 2.0, class_color(class));
        let hg = height * given[class] as f32 / max;
        let given_rect =
            egui::Rect::from_min_max(egui::pos2(x, base - hg), egui::pos2(x + w, base));
        painter.rect_stroke(
            given_rect,
            2.0,
            egui::Stroke::new(1.0, text_color.gamma_multiply(0.6)),
            egui::StrokeKind::Inside,
        );
        painter.text(
            egui::pos2(x + w / 2.0, base - h - 2.0),
            egui::Align2::CENTER_BOTTOM,
            curated[class].to_string(),
            egui::FontId::proportional(10.0),
            text_color,
        );
        painter.text(
            egui::pos2(x + w / 2.0, base + 2.0),
            egui::Align2::CENTER_TOP,
            class.to_string(),
            egui::FontId::proportional(11.0),
            text_color,
        );
    }
    let legend: Vec<String> = (0..NUM_CLASSES)
        .step_by(6)
        .map(|c| {
            format!(
                "{}-{}: {}",
                c,
                c + 5,
                crate::dataset::Mask::ALL[c / 6].name()
            )
        })
        .collect();
    ui.weak(format!(
        "class = mask·6 + gender·3 + age.  {}",
        legend.join(", ")
    ));
}

fn issues_summary_ui(ui: &mut egui::Ui, session: &Session, commands: &mut Vec<Command>) {
    ui.strong("Label issues");
    let Some(issues) = &session.issues else {
        ui.label("No finished training run yet: train one to find suspected label errors.");
        return;
    };
    // The tiers, as the queue lists them: a single total would mostly count possible items.
    let (likely, expected) = issues.likely();
    ui.label(format!(
        "Run {}: {}",
        issues.run_id,
        crate::issues::tiers_text(likely, expected, issues.items.len() - likely)
    ));
    egui::Grid::new("noise").striped(true).show(ui, |ui| {
        ui.strong("field");
        ui.strong("likely");
        ui.strong("possible");
        ui.strong("expected real errors (likely)");
        ui.strong("estimated wrong labels")
            .on_hover_text("The sum of the calibrated probabilities over every photo (mask) or person (gender, age)");
        ui.end_row();
        for field in Field::ALL {
            let tier = |t: crate::issues::Tier| {
                issues
                    .items
                    .iter()
                    .filter(|i| i.field == field && i.tier == t)
                    .count()
            };
            ui.colored_label(value_color(field, 0), field.name());
            ui.label(tier(crate::issues::Tier::Likely).to_string());
            ui.label(tier(crate::issues::Tier::Possible).to_string());
            match issues.queues.iter().find(|q| q.field == field) {
                Some(q) => ui.label(format!("{:.1}", q.expected_in_likely)),
                None => ui.weak("-"),
            };
            let queue = issues.queues.iter().find(|q| q.field == field);
            match queue.and_then(|q| q.estimate_text()) {
                Some(text) => ui.label(text),
                None => ui.weak("-"),
            };
            ui.end_row();
        }
    });
    if let Some(note) = &issues.age_note {
        ui.weak(note);
    }
    crate::ui::widgets::decision_check_ui(ui, &session.decision_check());
    if ui.button("Review the issues").clicked() {
        commands.push(Command::Show(View::Review));
    }
}

/// What the photo checks found: a count per kind, the kinds common to the whole dataset,
/// and a button to the people concerned.
fn photo_checks_ui(
    ui: &mut egui::Ui,
    session: &Session,
    state: &mut PersistentState,
    commands: &mut Vec<Command>,
) {
    ui.strong("Photo checks");
    let Some(report) = &session.photos else {
        ui.horizontal(|ui| {
            ui.spinner();
            ui.weak("Checking the photos for darkness, blur, duplicates…");
        });
        return;
    };
    let flagged_people = report.flagged_people.len();
    ui.label(format!(
        "{} photos checked: {} flagged, of {}",
        report.checked,
        report.findings.len(),
        crate::workbench::queries::counted_people(flagged_people)
    ));
    for kind in CheckKind::ALL {
        let n = report.count(kind);
        if n > 0 {
            ui.horizontal(|ui| {
                ui.colored_label(AMBER, format!("{n}"));
                ui.label(kind.title());
            });
        }
    }
    for (kind, n) in &report.dataset_wide {
        ui.weak(format!(
            "{}: common to the whole dataset, so not flagged one by one",
            kind.common_text(*n)
        ));
    }
    if !report.unreadable.is_empty() {
        ui.weak(format!(
            "{} could not be read (see the scan's problems)",
            crate::workbench::queries::counted(report.unreadable.len(), "photo")
        ));
    }
    if flagged_people > 0 && ui.button("Show these people").clicked() {
        state.people_filter = PeopleFilter {
            photo_problems_only: true,
            ..PeopleFilter::default()
        };
        commands.push(Command::Show(View::People));
    }
}

/// What the run's embeddings show: outliers and look-alike people, with the map.
fn embeddings_ui(
    ui: &mut egui::Ui,
    session: &Session,
    (analysed, error): (Option<&str>, Option<&str>),
    state: &mut PersistentState,
    commands: &mut Vec<Command>,
) {
    let Some(probs) = &session.probs else {
        return;
    };
    ui.strong("Outliers and look-alikes (the run's embeddings)");
    let Some(report) = &session.embeddings else {
        if let (Some(e), true) = (error, analysed == Some(probs.run_id.as_str())) {
            ui.colored_label(ui.visuals().error_fg_color, format!("Cannot be used: {e}"));
        } else if analysed == Some(probs.run_id.as_str()) {
            ui.weak(format!(
                "Run {} saved no embeddings (simulated runs, older runs and efficientnet backbones have none).",
                probs.run_id
            ));
        } else {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.weak("Mapping the photos…");
            });
        }
        return;
    };
    ui.horizontal_wrapped(|ui| {
        ui.colored_label(AMBER, report.outliers.len().to_string());
        ui.label(if report.outliers.len() == 1 {
            "outlier photo: unlike any photo of another person"
        } else {
            "outlier photos: unlike any photo of another person"
        });
    });
    ui.horizontal_wrapped(|ui| {
        ui.colored_label(AMBER, report.lookalikes.len().to_string());
        ui.label(if report.lookalikes.len() == 1 {
            "look-alike pair: two ids the model sees as one person"
        } else {
            "look-alike pairs: two ids the model sees as one person"
        });
        let decided = report
            .lookalikes
            .iter()
            .filter(|l| session.identity_decision(l.a, l.b).is_some())
            .count();
        if decided > 0 {
            ui.weak(format!("({decided} decided)"));
        }
    });
    ui.horizontal(|ui| {
        if ui.button("Open the map (F7)").clicked() {
            commands.push(Command::Show(View::Map));
        }
        if !report.flagged_people().is_empty() && ui.button("Show the people concerned").clicked() {
            state.people_filter = PeopleFilter {
                embedding_flags_only: true,
                ..PeopleFilter::default()
            };
            commands.push(Command::Show(View::People));
        }
    });
}

fn problems_ui(ui: &mut egui::Ui, session: &Session) {
    let problems = &session.dataset.problems;
    ui.strong(format!("Problems found by the scan ({})", problems.len()));
    if problems.is_empty() {
        ui.colored_label(
            Color32::from_rgb(46, 160, 67),
            "None: every row has its folder and seven readable photos.",
        );
        return;
    }
    egui::ScrollArea::vertical()
        .id_salt("problems")
        .max_height(220.0)
        .show_rows(ui, 18.0, problems.len(), |ui, rows| {
            for p in &problems[rows] {
                let line = p.line.map(|l| format!(":{l}")).unwrap_or_default();
                ui.horizontal(|ui| {
                    ui.monospace(format!("{:?}", p.kind));
                    ui.label(format!("{}{line}", p.path.display()));
                    ui.weak(&p.reason);
                });
            }
        });
}
