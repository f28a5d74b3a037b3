//! Small drawing helpers shared by the views: label chips coloured per value, probability
//! bars, and the photo tile.

use crate::dataset::{AgeBin, Field, Gender, Mask};
use egui::{Color32, CornerRadius, Rect, RichText, Sense, Stroke, StrokeKind, Ui, Vec2};

/// The colour of everything that asks for attention: flagged photos, open items.
pub const AMBER: Color32 = Color32::from_rgb(219, 143, 0);

/// The colour of a label value, readable on dark and light themes.
pub fn value_color(field: Field, value: usize) -> Color32 {
    match (field, value) {
        (Field::Mask, 0) => Color32::from_rgb(46, 160, 67), // wear: green
        (Field::Mask, 1) => AMBER,                          // incorrect
        (Field::Mask, _) => Color32::from_rgb(207, 34, 46), // not wear: red
        (Field::Gender, 0) => Color32::from_rgb(31, 111, 235), // male: blue
        (Field::Gender, _) => Color32::from_rgb(191, 57, 137), // female: magenta
        (Field::Age, 0) => Color32::from_rgb(26, 158, 160), // <30: teal
        (Field::Age, 1) => Color32::from_rgb(130, 80, 223), // 30-59: violet
        (Field::Age, _) => Color32::from_rgb(110, 119, 129), // >=60: slate
    }
}

/// The colour of one of the 18 classes (its mask hue, shaded by gender and age).
pub fn class_color(class: usize) -> Color32 {
    let Some(c) = crate::dataset::ClassCode::from_index(class) else {
        return Color32::GRAY;
    };
    let base = value_color(Field::Mask, c.mask().index());
    let shade = 1.0 - 0.12 * (c.gender().index() * 3 + c.age().index()) as f32;
    Color32::from_rgb(
        (base.r() as f32 * shade) as u8,
        (base.g() as f32 * shade) as u8,
        (base.b() as f32 * shade) as u8,
    )
}

/// A rounded chip with white text on the value colour. `edited` draws an outline.
pub fn chip_ui(ui: &mut Ui, field: Field, value: usize, edited: bool) -> egui::Response {
    chip(
        ui,
        field.class_name(value).to_string(),
        value_color(field, value),
        edited,
    )
}

/// One chip, laid out as a single widget: in a wrapping row it moves to the next line
/// whole instead of wrapping its text letter by letter in the space left.
fn chip(ui: &mut Ui, text: String, fill: Color32, edited: bool) -> egui::Response {
    let label = text.clone();
    let text = RichText::new(text)
        .color(Color32::WHITE)
        .strong()
        .size(12.0);
    let galley = egui::WidgetText::from(text).into_galley(
        ui,
        Some(egui::TextWrapMode::Extend),
        f32::INFINITY,
        egui::TextStyle::Body,
    );
    let margin = Vec2::new(6.0, 1.0);
    let (rect, response) = ui.allocate_exact_size(galley.size() + 2.0 * margin, Sense::hover());
    // Read by screen readers (and found by the app's tests) as the label it shows.
    response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Label, true, &label));
    if ui.is_rect_visible(rect) {
        let painter = ui.painter();
        painter.rect_filled(rect, CornerRadius::same(8), fill);
        if edited {
            painter.rect_stroke(
                rect,
                CornerRadius::same(8),
                Stroke::new(2.0, ui.visuals().strong_text_color()),
                StrokeKind::Inside,
            );
        }
        painter.galley(rect.min + margin, galley, Color32::WHITE);
    }
    response
}

pub fn mask_chip_ui(ui: &mut Ui, mask: Mask, edited: bool) -> egui::Response {
    chip_ui(ui, Field::Mask, mask.index(), edited)
}

pub fn gender_chip_ui(ui: &mut Ui, gender: Gender, edited: bool) -> egui::Response {
    chip_ui(ui, Field::Gender, gender.index(), edited)
}

pub fn age_chip_ui(ui: &mut Ui, years: u32, bin: AgeBin, edited: bool) -> egui::Response {
    chip(
        ui,
        format!("{years} ({})", bin.name()),
        value_color(Field::Age, bin.index()),
        edited,
    )
}

/// The width [`probability_bars_ui`] takes: name, bar, percentage and marker.
pub const PROBABILITY_BARS_WIDTH: f32 = 300.0;

/// Something to draw, for [`blocks_ui`].
pub type Block<'a> = Box<dyn FnOnce(&mut Ui) + 'a>;

/// Draws `blocks` side by side when each can have `width_each`, else one under the other,
/// so that nothing is pushed past the right edge of a narrow panel.
pub fn blocks_ui(ui: &mut Ui, width_each: f32, blocks: Vec<Block<'_>>) {
    let spacing = ui.spacing().item_spacing.x;
    let n = blocks.len() as f32;
    if ui.available_width() >= n * width_each + (n - 1.0) * spacing {
        ui.horizontal_top(|ui| {
            for block in blocks {
                ui.vertical(|ui| {
                    ui.set_width(width_each);
                    block(ui);
                });
            }
        });
    } else {
        for block in blocks {
            block(ui);
        }
    }
}

/// Horizontal probability bars for the values of a field; `given` and `suggested` marked.
pub fn probability_bars_ui(
    ui: &mut Ui,
    field: Field,
    probs: &[f32],
    given: Option<usize>,
    suggested: Option<usize>,
) {
    // Compact rows: the bars share the review screen with seven photos.
    ui.spacing_mut().interact_size.y = 14.0;
    ui.spacing_mut().item_spacing.y = 1.0;
    // The bar gives up width first, so that the percentage stays in a narrow panel.
    let bar_width = (ui.available_width() - 72.0 - 125.0).clamp(30.0, 120.0);
    for (i, p) in probs.iter().enumerate() {
        ui.horizontal(|ui| {
            let marker = match (Some(i) == given, Some(i) == suggested) {
                (true, _) => "given",
                (_, true) => "suggested",
                _ => "",
            };
            ui.add_sized([72.0, 14.0], egui::Label::new(field.class_name(i)));
            let (rect, _) = ui.allocate_exact_size(Vec2::new(bar_width, 12.0), Sense::hover());
            let painter = ui.painter();
            painter.rect_filled(rect, 3.0, ui.visuals().extreme_bg_color);
            let mut filled = rect;
            filled.set_width(rect.width() * p.clamp(0.0, 1.0));
            painter.rect_filled(filled, 3.0, value_color(field, i));
            ui.label(format!("{:>5.1}% {marker}", p * 100.0));
        });
    }
}

/// What a photo tile shows: the picture, or a text while it loads or when it failed.
pub enum TileContent<'a> {
    Texture(&'a egui::TextureHandle),
    Placeholder(&'a str),
}

/// A photo file, and the key its texture is kept under.
#[derive(Clone, Copy)]
pub struct PhotoSource<'p> {
    pub key: super::thumb_textures::PhotoKey,
    pub root: &'p std::path::Path,
    pub rel_path: &'p std::path::Path,
}

impl<'p> PhotoSource<'p> {
    /// The file of a dataset photo (`None` for a slot without one).
    pub fn of(
        session: &'p crate::workbench::session::Session,
        photo: crate::dataset::PhotoRef,
    ) -> Option<Self> {
        session.dataset.photo(photo).map(|ph| PhotoSource {
            key: super::thumb_textures::PhotoKey::new(photo.person, photo.slot.index()),
            root: session.root(),
            rel_path: &ph.rel_path,
        })
    }
}

/// The tile content of a photo file: its texture when decoded, else `loading` text, or
/// the reason it cannot be shown.
pub fn photo_content<'a>(
    textures: Option<&'a mut super::thumb_textures::ThumbTextures>,
    photo: Option<PhotoSource<'_>>,
    loading: &'a str,
) -> TileContent<'a> {
    use super::thumb_textures::ThumbView;
    match (textures, photo) {
        (Some(t), Some(photo)) => match t.get(photo.key, || photo.root.join(photo.rel_path)) {
            ThumbView::Ready(tex) => TileContent::Texture(tex),
            ThumbView::Loading => TileContent::Placeholder(loading),
            ThumbView::Failed(reason) => TileContent::Placeholder(reason),
        },
        (_, None) => TileContent::Placeholder("missing photo"),
        (None, Some(_)) => TileContent::Placeholder(loading),
    }
}

/// A photo tile of the given size; the selected tile gets a thick accent outline, a
/// flagged one a warning corner. Returns the click response.
pub fn photo_tile_ui(
    ui: &mut Ui,
    size: Vec2,
    content: TileContent<'_>,
    selected: bool,
    flagged: bool,
    accessible_name: &str,
) -> egui::Response {
    let (rect, response) = ui.allocate_exact_size(size, Sense::click());
    response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Button, true, accessible_name));
    if ui.is_rect_visible(rect) {
        let visuals = ui.visuals();
        let painter = ui.painter_at(rect.expand(3.0));
        match content {
            TileContent::Texture(tex) => {
                let uv = Rect::from_min_max(egui::pos2(0.0, 0.0), egui::pos2(1.0, 1.0));
                let tex_size = tex.size_vec2();
                let scale = (rect.width() / tex_size.x).min(rect.height() / tex_size.y);
                let img = Rect::from_center_size(rect.center(), tex_size * scale);
                painter.rect_filled(rect, 4.0, visuals.extreme_bg_color);
                painter.image(tex.id(), img, uv, Color32::WHITE);
            }
            TileContent::Placeholder(text) => {
                painter.rect_filled(rect, 4.0, visuals.faint_bg_color);
                let galley = painter.layout(
                    text.to_string(),
                    egui::FontId::proportional(11.0),
                    visuals.weak_text_color(),
                    rect.width() - 6.0,
                );
                painter.galley(
                    rect.center() - galley.size() / 2.0,
                    galley,
                    visuals.weak_text_color(),
                );
            }
        }
        if flagged {
            let corner = [
                rect.right_top(),
                rect.right_top() + Vec2::new(-14.0, 0.0),
                rect.right_top() + Vec2::new(0.0, 14.0),
            ];
            painter.add(egui::Shape::convex_polygon(
                corner.to_vec(),
                AMBER,
                Stroke::NONE,
            ));
        }
        if selected {
            painter.rect_stroke(
                rect,
                4.0,
                Stroke::new(3.0, visuals.selection.stroke.color),
                StrokeKind::Outside,
            );
        } else if response.hovered() {
            painter.rect_stroke(
                rect,
                4.0,
                visuals.widgets.hovered.bg_stroke,
                StrokeKind::Outside,
            );
        }
    }
    response
}

/// A photo's mask label as a coloured strip along the bottom of its tile; an edited label
/// gets a white outline.
pub fn mask_strip(ui: &Ui, tile: Rect, mask: Mask, edited: bool) {
    let strip = Rect::from_min_max(
        tile.left_bottom() - Vec2::new(0.0, 14.0),
        tile.right_bottom(),
    );
    let painter = ui.painter();
    painter.rect_filled(
        strip,
        2.0,
        value_color(Field::Mask, mask.index()).gamma_multiply(0.9),
    );
    painter.text(
        strip.center(),
        egui::Align2::CENTER_CENTER,
        mask.name(),
        egui::FontId::proportional(10.0),
        Color32::WHITE,
    );
    if edited {
        painter.rect_stroke(
            strip,
            2.0,
            Stroke::new(1.5, Color32::WHITE),
            StrokeKind::Inside,
        );
    }
}

/// A drop-down with its name in front ("Gender [any v]"), named for screen readers and
/// queries. egui's `ComboBox::from_label` puts the name after the box.
/// The person's note as it is read beside what the annotator judges ("Note: ...").
pub fn note_line_ui(ui: &mut Ui, note: &str) -> egui::Response {
    ui.label(egui::RichText::new(format!("Note: {note}")).italics())
}

/// In a wrapping row, starts a new row unless `texts` (body text, one widget each) and
/// `extra` points more fit on this one: widgets that belong together wrap together. (A
/// nested horizontal layout would not wrap at all.)
pub fn keep_together(ui: &mut Ui, texts: &[&str], extra: f32) {
    if !ui.layout().main_wrap {
        return;
    }
    let font = egui::TextStyle::Body.resolve(ui.style());
    let spacing = ui.spacing().item_spacing.x;
    let needed = texts
        .iter()
        .map(|t| {
            ui.fonts_mut(|f| {
                f.layout_no_wrap(t.to_string(), font.clone(), egui::Color32::PLACEHOLDER)
            })
            .size()
            .x + spacing
        })
        .sum::<f32>()
        + extra;
    if ui.available_size_before_wrap().x < needed {
        ui.end_row();
    }
}

pub fn labelled_combo_ui(
    ui: &mut Ui,
    label: &str,
    selected_text: impl Into<egui::WidgetText>,
    add_contents: impl FnOnce(&mut Ui),
) {
    // In a wrapping row the label never ends a line its box starts the next.
    let combo = ui.spacing().combo_width;
    keep_together(ui, &[label], combo);
    let name = ui.label(label);
    egui::ComboBox::from_id_salt(("labelled_combo", label))
        .selected_text(selected_text)
        .show_ui(ui, add_contents)
        .response
        .labelled_by(name.id);
}

/// The annotator's decisions against the run's probabilities, with a warning when they
/// disagree (nothing before the first decision).
pub fn decision_check_ui(ui: &mut Ui, check: &crate::workbench::session::DecisionCheck) {
    if check.decided == 0 {
        return;
    }
    ui.weak(check.text()).on_hover_text(
        "Kept items were right; accepted or fixed ones were wrong labels. The run expected the sum of their probabilities.",
    );
    if let Some(advice) = check.advice() {
        ui.colored_label(AMBER, advice);
    }
}
