//! Map: every training photo at the first two principal components of the run's
//! embeddings (fold 0's model's features), coloured by a label, with outliers and
//! look-alike people ringed. Hover a point for its photo and labels; click it to open the
//! person. Beside the map, the outliers and look-alike pairs as lists.

use crate::dataset::{Field, PhotoRef};
use crate::embeddings::{EmbeddingReport, MapKind};
use crate::ui::app::Runtime;
use crate::ui::commands::Command;
use crate::ui::widgets::{photo_content, photo_tile_ui, value_color, PhotoSource, AMBER};
use crate::workbench::session::Session;
use egui::{Color32, Pos2, Rect, Sense, Stroke, Vec2};

/// What the points' colour shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MapColour {
    #[default]
    Mask,
    Gender,
    Age,
    /// People in the review queue (amber) against the rest (grey).
    Issues,
}

impl MapColour {
    const ALL: [MapColour; 4] = [
        MapColour::Mask,
        MapColour::Gender,
        MapColour::Age,
        MapColour::Issues,
    ];
    fn title(self) -> &'static str {
        match self {
            MapColour::Mask => "mask",
            MapColour::Gender => "gender",
            MapColour::Age => "age",
            MapColour::Issues => "issues",
        }
    }
}

/// Photos of outliers are ringed in this colour, look-alike people in [`LOOKALIKE`].
const OUTLIER: Color32 = Color32::from_rgb(230, 60, 60);
const LOOKALIKE: Color32 = Color32::from_rgb(160, 90, 240);
/// A point is hovered within this many pixels.
const PICK_RADIUS: f32 = 8.0;
/// Width of the lists beside the map.
const LIST_WIDTH: f32 = 300.0;

/// The map's settings and what its last frame drew (for hit tests and tests).
#[derive(Debug, Default)]
pub struct MapViewState {
    pub colour: MapColour,
    pub rings: bool,
    /// Screen rectangle of the plot in the last frame and the data bounds it showed.
    plot: Option<(Rect, Rect)>,
    /// Colours per row for (colour, session generation, run id): labels change rarely.
    colours: Option<(MapColour, u64, String, Vec<Color32>)>,
    /// A selection rectangle being drawn: where the drag started and where it is now.
    drag: Option<(Pos2, Pos2)>,
    /// The rows inside the last rectangle drawn.
    pub selection: Option<Vec<usize>>,
}

impl MapViewState {
    pub fn new() -> Self {
        MapViewState {
            rings: true,
            ..Default::default()
        }
    }

    /// Where row `row`'s point was drawn in the last frame.
    pub fn screen_pos(&self, report: &EmbeddingReport, row: usize) -> Option<Pos2> {
        let (rect, bounds) = self.plot?;
        report.map.get(row).map(|&p| to_screen(rect, bounds, p))
    }
}

fn to_screen(rect: Rect, bounds: Rect, p: [f32; 2]) -> Pos2 {
    let x = (p[0] - bounds.min.x) / bounds.width().max(f32::MIN_POSITIVE);
    let y = (p[1] - bounds.min.y) / bounds.height().max(f32::MIN_POSITIVE);
    Pos2::new(
        rect.left() + x * rect.width(),
        rect.bottom() - y * rect.height(),
    )
}

pub fn map_ui(ui: &mut egui::Ui, rt: &mut Runtime, commands: &mut Vec<Command>) {
    let Some(session) = &rt.session else { return };
    ui.heading("Map of the photos");
    let Some(probs) = &session.probs else {
        ui.label("No finished run yet: train one (F9); its model's view of the photos shows here.");
        return;
    };
    let Some(report) = session.embeddings.clone() else {
        if let (Some(e), Some(_)) = (&rt.embeddings_error, &rt.embeddings_analysed) {
            ui.colored_label(
                ui.visuals().error_fg_color,
                format!("Run {}'s embeddings cannot be used: {e}", probs.run_id),
            );
        } else if rt.embeddings_analysed.as_deref() == Some(probs.run_id.as_str()) {
            ui.label(format!(
                "Run {} has no embeddings.npy: simulated runs, runs made before embeddings were \
                 saved, and efficientnet backbones have none. Train a small-cnn or resnet run (F9) to map \
                 the photos.",
                probs.run_id
            ));
        } else {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label(format!("Mapping the photos of run {}…", probs.run_id));
            });
        }
        return;
    };
    let view = rt.map_view.get_or_insert_with(MapViewState::new);
    ui.horizontal_wrapped(|ui| {
        ui.label(match report.map_kind {
            MapKind::Tsne => format!(
                "{} photos of run {}, placed by t-SNE on fold 0's features: photos the model \
                 sees alike are close.",
                report.rows.len(),
                report.run_id
            ),
            MapKind::PrincipalComponents => format!(
                "{} photos of run {}: the first two principal components of fold 0's features \
                 ({:.0}% and {:.0}% of the variance; the run has no map.npy, train again for a \
                 t-SNE map).",
                report.rows.len(),
                report.run_id,
                100.0 * report.map_explained[0],
                100.0 * report.map_explained[1]
            ),
        });
    });
    ui.horizontal_wrapped(|ui| {
        ui.label("Colour by");
        for c in MapColour::ALL {
            ui.selectable_value(&mut view.colour, c, c.title());
        }
        ui.separator();
        legend_ui(ui, view.colour);
        ui.separator();
        ui.checkbox(&mut view.rings, "Ring outliers and look-alikes");
    });

    let key = (view.colour, session.generation, report.run_id.clone());
    if view
        .colours
        .as_ref()
        .is_none_or(|(c, g, r, _)| (*c, *g, r) != (key.0, key.1, &key.2))
    {
        let colours = point_colours(session, &report, view.colour);
        view.colours = Some((key.0, key.1, key.2, colours));
    }
    let selected = rt.selected_person;
    let mut hovered: Option<usize> = None;
    let mut clicked: Option<usize> = None;
    ui.horizontal_top(|ui| {
        let size = Vec2::new(
            (ui.available_width() - LIST_WIDTH - 12.0).max(200.0),
            ui.available_height().max(200.0),
        );
        let (rect, response) = ui.allocate_exact_size(size, Sense::click_and_drag());
        response.widget_info(|| {
            egui::WidgetInfo::labeled(egui::Role::Image, true, "map of the photos")
        });
        let bounds = data_bounds(&report.map);
        view.plot = Some((rect.shrink(10.0), bounds));
        let plot = rect.shrink(10.0);
        let painter = ui.painter_at(rect);
        painter.rect_filled(rect, 4.0, ui.visuals().extreme_bg_color);
        let colours = view.colours.as_ref().map(|c| &c.3);
        let mut mesh = egui::Mesh::default();
        for (row, &p) in report.map.iter().enumerate() {
            let at = to_screen(plot, bounds, p);
            let colour = colours
                .and_then(|c| c.get(row))
                .copied()
                .unwrap_or(Color32::GRAY);
            mesh.add_colored_rect(Rect::from_center_size(at, Vec2::splat(3.0)), colour);
        }
        painter.add(egui::Shape::mesh(mesh));
        if view.rings {
            for &row in &report.outliers {
                let at = to_screen(plot, bounds, report.map[row]);
                painter.circle_stroke(at, 6.0, Stroke::new(1.5, OUTLIER));
            }
            for l in &report.lookalikes {
                for (row, photo) in report.rows.iter().enumerate() {
                    if photo.person == l.a || photo.person == l.b {
                        let at = to_screen(plot, bounds, report.map[row]);
                        painter.circle_stroke(at, 5.0, Stroke::new(1.5, LOOKALIKE));
                    }
                }
            }
        }
        if let Some(person) = selected {
            for (row, photo) in report.rows.iter().enumerate() {
                if photo.person == person {
                    let at = to_screen(plot, bounds, report.map[row]);
                    painter.circle_stroke(at, 5.0, Stroke::new(2.0, ui.visuals().text_color()));
                }
            }
        }
        if let Some(pointer) = response.hover_pos() {
            hovered = nearest_point(&report, plot, bounds, pointer);
        }
        if response.clicked() {
            clicked = hovered;
        }
        // Drag a rectangle to select the photos inside it. The pointer is gone from the
        // response in the frame the button is released: the last place is kept.
        if response.drag_started() {
            let origin = ui.input(|i| i.pointer.press_origin());
            view.drag = origin.or(response.interact_pointer_pos()).map(|p| (p, p));
        }
        if let (Some((from, _)), Some(now)) = (view.drag, response.interact_pointer_pos()) {
            view.drag = Some((from, now));
        }
        if let Some((from, to)) = view.drag {
            let area = Rect::from_two_pos(from, to);
            painter.rect_filled(area, 0.0, AMBER.gamma_multiply(0.12));
            painter.rect_stroke(area, 0.0, Stroke::new(1.0, AMBER), egui::StrokeKind::Inside);
            if response.drag_stopped() {
                let rows: Vec<usize> = (0..report.map.len())
                    .filter(|&r| area.contains(to_screen(plot, bounds, report.map[r])))
                    .collect();
                view.selection = (!rows.is_empty()).then_some(rows);
                view.drag = None;
            }
        }
        if let Some(rows) = &view.selection {
            for &row in rows {
                let at = to_screen(plot, bounds, report.map[row]);
                painter.circle_stroke(at, 3.5, Stroke::new(1.0, AMBER));
            }
        }
        if let Some(row) = hovered {
            let at = to_screen(plot, bounds, report.map[row]);
            painter.circle_stroke(at, 7.0, Stroke::new(2.0, AMBER));
            let photo = report.rows[row];
            let thumbs = rt.thumbs.as_mut();
            response.on_hover_ui_at_pointer(|ui| {
                point_tip_ui(ui, session, &report, thumbs, row, photo);
            });
        }
        ui.vertical(|ui| {
            ui.set_width(LIST_WIDTH);
            selection_ui(ui, &report, view, commands);
            lists_ui(ui, session, &report, commands);
        });
    });
    if let Some(row) = clicked {
        let photo = report.rows[row];
        commands.push(Command::OpenPerson(photo.person));
        commands.push(Command::SelectPhoto(photo.slot));
    }
}

/// The row nearest the pointer, when within [`PICK_RADIUS`].
fn nearest_point(
    report: &EmbeddingReport,
    plot: Rect,
    bounds: Rect,
    pointer: Pos2,
) -> Option<usize> {
    report
        .map
        .iter()
        .enumerate()
        .map(|(row, &p)| (row, to_screen(plot, bounds, p).distance(pointer)))
        .filter(|&(_, d)| d <= PICK_RADIUS)
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(row, _)| row)
}

/// The map's data bounds, with a margin so no point sits on the edge.
fn data_bounds(map: &[[f32; 2]]) -> Rect {
    let mut r = Rect::NOTHING;
    for p in map {
        r.extend_with(Pos2::new(p[0], p[1]));
    }
    if !r.is_positive() {
        return Rect::from_center_size(r.center(), Vec2::splat(1.0));
    }
    r.expand2(r.size() * 0.02)
}

fn point_colours(session: &Session, report: &EmbeddingReport, colour: MapColour) -> Vec<Color32> {
    report
        .rows
        .iter()
        .map(|&PhotoRef { person, slot }| match colour {
            MapColour::Mask => value_color(Field::Mask, session.mask(person, slot).index()),
            MapColour::Gender => value_color(Field::Gender, session.gender(person).index()),
            MapColour::Age => value_color(Field::Age, session.age_bin(person).index()),
            MapColour::Issues => {
                let flagged = session
                    .issues
                    .as_ref()
                    .is_some_and(|i| i.by_person.contains_key(&person));
                if flagged {
                    AMBER
                } else {
                    Color32::from_gray(110)
                }
            }
        })
        .collect()
}

fn legend_ui(ui: &mut egui::Ui, colour: MapColour) {
    let entries: Vec<(String, Color32)> = match colour {
        MapColour::Mask | MapColour::Gender | MapColour::Age => {
            let field = match colour {
                MapColour::Mask => Field::Mask,
                MapColour::Gender => Field::Gender,
                _ => Field::Age,
            };
            (0..field.num_classes())
                .map(|v| (field.class_name(v).to_string(), value_color(field, v)))
                .collect()
        }
        MapColour::Issues => vec![
            ("in the review queue".into(), AMBER),
            ("not flagged".into(), Color32::from_gray(110)),
        ],
    };
    // Each entry wraps whole: a sign never ends a line its name starts the next, and a
    // name is never split.
    let entry = |ui: &mut egui::Ui, sign: &str, color: Option<Color32>, name: &str| {
        crate::ui::widgets::keep_together(ui, &[sign, name], 0.0);
        match color {
            Some(c) => ui.colored_label(c, sign),
            None => ui.label(sign),
        };
        ui.add(egui::Label::new(name).wrap_mode(egui::TextWrapMode::Extend));
    };
    for (name, c) in entries {
        entry(ui, "■", Some(c), &name);
    }
    entry(ui, "○", Some(OUTLIER), "outlier");
    entry(ui, "○", Some(LOOKALIKE), "look-alike");
    entry(ui, "○", None, "selected person");
}

fn point_tip_ui(
    ui: &mut egui::Ui,
    session: &Session,
    report: &EmbeddingReport,
    thumbs: Option<&mut crate::ui::thumb_textures::ThumbTextures>,
    row: usize,
    photo: PhotoRef,
) {
    let folder = session.folder(photo.person).to_string();
    ui.strong(format!("{folder} / {}", photo.slot.stem()));
    if let Some(source) = PhotoSource::of(session, photo) {
        photo_tile_ui(
            ui,
            Vec2::new(96.0, 128.0),
            photo_content(thumbs, Some(source), "loading…"),
            false,
            false,
            &folder,
        );
    }
    ui.label(format!(
        "{} · {} · {} years",
        Field::Mask.class_name(session.mask(photo.person, photo.slot).index()),
        Field::Gender.class_name(session.gender(photo.person).index()),
        session.age_years(photo.person)
    ));
    ui.label(format!("outlier score {:.3}", report.outlier_score[row]));
    if let Some(text) = report.describe_outlier(photo) {
        ui.colored_label(OUTLIER, text);
    }
    if let Some(l) = report.lookalike_of(photo.person) {
        let other = if l.a == photo.person { l.b } else { l.a };
        ui.colored_label(
            LOOKALIKE,
            format!("looks like {} to the model", session.folder(other)),
        );
    }
    ui.weak("Click to open this person");
}

/// The photos inside the rectangle drawn on the map, and their people in the grid.
fn selection_ui(
    ui: &mut egui::Ui,
    report: &EmbeddingReport,
    view: &mut MapViewState,
    commands: &mut Vec<Command>,
) {
    let Some(rows) = &view.selection else {
        ui.weak("Drag on the map to select the photos in a rectangle.");
        ui.add_space(10.0);
        return;
    };
    let mut people: Vec<usize> = rows.iter().map(|&r| report.rows[r].person).collect();
    people.sort_unstable();
    people.dedup();
    ui.strong(format!(
        "Selected: {} of {}",
        crate::workbench::queries::counted(rows.len(), "photo"),
        crate::workbench::queries::counted_people(people.len())
    ));
    ui.horizontal(|ui| {
        if ui.button("Show them in the people grid").clicked() {
            commands.push(Command::ShowPeopleOnly {
                people,
                name: "Map selection".into(),
            });
        }
        if ui.button("Clear the selection").clicked() {
            view.selection = None;
        }
    });
    ui.add_space(10.0);
}

/// The flagged photos and pairs, each a link to its person.
fn lists_ui(
    ui: &mut egui::Ui,
    session: &Session,
    report: &EmbeddingReport,
    commands: &mut Vec<Command>,
) {
    egui::ScrollArea::vertical()
        .id_salt("map_lists")
        .auto_shrink([false, false])
        .show(ui, |ui| {
            ui.strong(crate::workbench::queries::counted(
                report.outliers.len(),
                "outlier photo",
            ));
            ui.weak("Unlike any photo of another person; most atypical first.");
            for &row in &report.outliers {
                let photo = report.rows[row];
                let text = format!(
                    "{:.3}  {}/{}",
                    report.outlier_score[row],
                    session.folder(photo.person),
                    photo.slot.stem()
                );
                if ui.link(text).clicked() {
                    commands.push(Command::OpenPerson(photo.person));
                    commands.push(Command::SelectPhoto(photo.slot));
                }
            }
            ui.add_space(10.0);
            ui.strong(crate::workbench::queries::counted(
                report.lookalikes.len(),
                "look-alike pair",
            ));
            ui.weak("Two ids the model sees as one person: a duplicated identity?");
            for l in &report.lookalikes {
                ui.horizontal_wrapped(|ui| {
                    for p in [l.a, l.b] {
                        if ui.link(session.folder(p)).clicked() {
                            commands.push(Command::OpenPerson(p));
                        }
                    }
                    match session.identity_decision(l.a, l.b) {
                        Some(d) => ui.weak(format!("— {}", d.name())),
                        None => ui.weak("— open (S / D in the person view)"),
                    };
                });
            }
        });
}
