//! The keyboard map: one table that drives the shortcuts, the `?` overlay and docs/keys.md.
//!
//! Plain keys (no modifier) act on the review / person screens; they are ignored while a
//! text field has focus, so typing a search never edits a label.

use egui::{Key, Modifiers};

/// What a key does. The app turns an action into a [`super::commands::Command`] for the
/// current screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyAction {
    Next,
    Previous,
    PageDown,
    PageUp,
    Home,
    End,
    NextPhoto,
    PreviousPhoto,
    MaskWear,
    MaskIncorrect,
    MaskNotWear,
    GenderMale,
    GenderFemale,
    AgeYoung,
    AgeMiddle,
    AgeOld,
    EditAgeYears,
    EditNote,
    AcceptSuggestion,
    Keep,
    NeedsReview,
    SamePerson,
    DifferentPeople,
    OpenPerson,
    Undo,
    Redo,
    Search,
    Escape,
    Help,
    ShowOverview,
    ShowPeople,
    ShowPerson,
    ShowReview,
    ShowEval,
    ShowMap,
    ToggleTrainPanel,
    Export,
    ZoomIn,
    ZoomOut,
    ViewPhoto,
    TogglePossible,
}

/// One binding: modifiers + key -> action. Several bindings may share an action.
#[derive(Debug, Clone, Copy)]
pub struct Binding {
    pub modifiers: Modifiers,
    pub key: Key,
    pub action: KeyAction,
}

const fn plain(key: Key, action: KeyAction) -> Binding {
    Binding {
        modifiers: Modifiers::NONE,
        key,
        action,
    }
}

const fn command(key: Key, action: KeyAction) -> Binding {
    Binding {
        modifiers: Modifiers::COMMAND,
        key,
        action,
    }
}

/// Every binding. Order matters: more specific chords come first, because egui matches
/// modifiers "logically" (an extra Shift is ignored), so Ctrl+Shift+Z must be tried before
/// Ctrl+Z.
pub const BINDINGS: &[Binding] = &[
    Binding {
        modifiers: Modifiers {
            shift: true,
            ..Modifiers::COMMAND
        },
        key: Key::Z,
        action: KeyAction::Redo,
    },
    command(Key::Z, KeyAction::Undo),
    command(Key::Y, KeyAction::Redo),
    command(Key::E, KeyAction::Export),
    plain(Key::J, KeyAction::Next),
    plain(Key::ArrowDown, KeyAction::Next),
    plain(Key::K, KeyAction::Previous),
    plain(Key::ArrowUp, KeyAction::Previous),
    plain(Key::PageDown, KeyAction::PageDown),
    plain(Key::PageUp, KeyAction::PageUp),
    plain(Key::Home, KeyAction::Home),
    plain(Key::End, KeyAction::End),
    plain(Key::L, KeyAction::NextPhoto),
    plain(Key::ArrowRight, KeyAction::NextPhoto),
    plain(Key::H, KeyAction::PreviousPhoto),
    plain(Key::ArrowLeft, KeyAction::PreviousPhoto),
    plain(Key::Num1, KeyAction::MaskWear),
    plain(Key::Num2, KeyAction::MaskIncorrect),
    plain(Key::Num3, KeyAction::MaskNotWear),
    plain(Key::M, KeyAction::GenderMale),
    plain(Key::F, KeyAction::GenderFemale),
    plain(Key::Num4, KeyAction::AgeYoung),
    plain(Key::Num5, KeyAction::AgeMiddle),
    plain(Key::Num6, KeyAction::AgeOld),
    plain(Key::A, KeyAction::EditAgeYears),
    plain(Key::C, KeyAction::EditNote),
    plain(Key::Enter, KeyAction::AcceptSuggestion),
    plain(Key::Space, KeyAction::Keep),
    plain(Key::N, KeyAction::NeedsReview),
    plain(Key::S, KeyAction::SamePerson),
    plain(Key::D, KeyAction::DifferentPeople),
    plain(Key::O, KeyAction::OpenPerson),
    plain(Key::Z, KeyAction::ViewPhoto),
    plain(Key::P, KeyAction::TogglePossible),
    plain(Key::Slash, KeyAction::Search),
    plain(Key::Escape, KeyAction::Escape),
    plain(Key::Questionmark, KeyAction::Help),
    plain(Key::F1, KeyAction::Help),
    plain(Key::F2, KeyAction::ShowOverview),
    plain(Key::F3, KeyAction::ShowPeople),
    plain(Key::F4, KeyAction::ShowPerson),
    plain(Key::F5, KeyAction::ShowReview),
    plain(Key::F6, KeyAction::ShowEval),
    plain(Key::F7, KeyAction::ShowMap),
    plain(Key::F9, KeyAction::ToggleTrainPanel),
    plain(Key::Plus, KeyAction::ZoomIn),
    plain(Key::Equals, KeyAction::ZoomIn),
    plain(Key::Minus, KeyAction::ZoomOut),
];

impl KeyAction {
    /// The text shown in the `?` overlay and in docs/keys.md.
    pub fn description(self) -> &'static str {
        match self {
            KeyAction::Next => "Next issue (review) / next person (people, person)",
            KeyAction::Previous => "Previous issue / previous person",
            KeyAction::PageDown => "A page down the queue / the people grid",
            KeyAction::PageUp => "A page up the queue / the people grid",
            KeyAction::Home => "First issue / first person",
            KeyAction::End => "Last issue / last person",
            KeyAction::NextPhoto => "Select the next photo of the person",
            KeyAction::PreviousPhoto => "Select the previous photo of the person",
            KeyAction::MaskWear => "Mask of the selected photo: wear",
            KeyAction::MaskIncorrect => "Mask of the selected photo: incorrect",
            KeyAction::MaskNotWear => "Mask of the selected photo: not wear",
            KeyAction::GenderMale => "Gender of the person (all seven photos): male",
            KeyAction::GenderFemale => "Gender of the person (all seven photos): female",
            KeyAction::AgeYoung => "Age bin <30 (years set to the nearest age in the bin)",
            KeyAction::AgeMiddle => "Age bin 30-59 (years set to the nearest age in the bin)",
            KeyAction::AgeOld => "Age bin >=60 (years set to 60)",
            KeyAction::EditAgeYears => "Type the age in years (Enter applies, Esc cancels)",
            KeyAction::EditNote => {
                "Write a note on the person for whoever reads the labels next (Enter saves, Esc cancels)"
            }
            KeyAction::AcceptSuggestion => "Accept the suggested label and move on",
            KeyAction::Keep => "Keep the given label (it is right) and move on",
            KeyAction::NeedsReview => "Mark as needs review (come back later) and move on",
            KeyAction::SamePerson => {
                "Same person: the other id on screen is this person filed again"
            }
            KeyAction::DifferentPeople => {
                "Different people: the other id on screen is someone else"
            }
            KeyAction::OpenPerson => "Open the selected person in the person view",
            KeyAction::TogglePossible => {
                "Review queue: list the possible items too, or the likely ones only"
            }
            KeyAction::ViewPhoto => {
                "View the selected photo large (Left/Right: the others; Z or Esc closes)"
            }
            KeyAction::Undo => "Undo the last edit",
            KeyAction::Redo => "Redo the last undone edit",
            KeyAction::Search => "Search people by id, folder or note (Enter opens the person found)",
            KeyAction::Escape => {
                "Leave the text field / close the overlay, the large photo or a dropdown"
            }
            KeyAction::Help => "Show or hide this key overlay",
            KeyAction::ShowOverview => "Overview",
            KeyAction::ShowPeople => "People grid",
            KeyAction::ShowPerson => "Person view",
            KeyAction::ShowReview => "Review queue",
            KeyAction::ShowEval => "Eval set: the run's predictions, most uncertain first",
            KeyAction::ShowMap => {
                "Map of the photos: the run's embeddings, outliers, look-alike people"
            }
            KeyAction::ToggleTrainPanel => "Show or hide the training panel",
            KeyAction::Export => "Export the corrected labels",
            KeyAction::ZoomIn => "Larger photos",
            KeyAction::ZoomOut => "Smaller photos",
        }
    }

    /// Actions that change a label of the person on screen.
    pub fn edits_labels(self) -> bool {
        matches!(
            self,
            KeyAction::MaskWear
                | KeyAction::MaskIncorrect
                | KeyAction::MaskNotWear
                | KeyAction::GenderMale
                | KeyAction::GenderFemale
                | KeyAction::AgeYoung
                | KeyAction::AgeMiddle
                | KeyAction::AgeOld
                | KeyAction::EditAgeYears
                | KeyAction::EditNote
                | KeyAction::AcceptSuggestion
                | KeyAction::Keep
                | KeyAction::NeedsReview
                | KeyAction::SamePerson
                | KeyAction::DifferentPeople
        )
    }

    /// Actions that still work while a text field has focus.
    pub fn works_in_text_fields(self) -> bool {
        matches!(
            self,
            KeyAction::Escape | KeyAction::Undo | KeyAction::Redo | KeyAction::Export
        )
    }
}

/// The human name of a binding, e.g. `Ctrl+Shift+Z`, `J`, `Down`.
pub fn binding_label(b: &Binding) -> String {
    let mut s = String::new();
    if b.modifiers.command || b.modifiers.ctrl {
        s.push_str("Ctrl+");
    }
    if b.modifiers.shift {
        s.push_str("Shift+");
    }
    s.push_str(key_label(b.key));
    s
}

fn key_label(key: Key) -> &'static str {
    match key {
        Key::ArrowDown => "Down",
        Key::ArrowUp => "Up",
        Key::ArrowLeft => "Left",
        Key::ArrowRight => "Right",
        Key::Questionmark => "?",
        Key::Slash => "/",
        Key::Plus => "+",
        Key::Equals => "=",
        Key::Minus => "-",
        Key::Enter => "Enter",
        Key::Space => "Space",
        Key::Escape => "Esc",
        Key::PageDown => "PageDown",
        Key::PageUp => "PageUp",
        other => other.name(),
    }
}

/// All actions in overlay order, each with its key names joined (`J / Down`).
pub fn overlay_rows() -> Vec<(String, KeyAction)> {
    let mut rows: Vec<(String, KeyAction)> = Vec::new();
    for b in BINDINGS {
        let label = binding_label(b);
        if let Some(row) = rows.iter_mut().find(|(_, a)| *a == b.action) {
            row.0.push_str(" / ");
            row.0.push_str(&label);
        } else {
            rows.push((label, b.action));
        }
    }
    // Matching needs Ctrl+Shift+Z before Ctrl+Z; a reader expects Undo before Redo.
    let at = |a: KeyAction| rows.iter().position(|(_, x)| *x == a);
    if let (Some(undo), Some(redo)) = (at(KeyAction::Undo), at(KeyAction::Redo)) {
        if redo < undo {
            rows.swap(undo, redo);
        }
    }
    rows
}

/// Consumes this frame's key presses that match a binding and returns their actions, in
/// the order they were pressed (Space then 3 is a decision, then a mask key; never the
/// other way round). While a text field has focus only
/// [`KeyAction::works_in_text_fields`] actions fire.
pub fn take_actions(ctx: &egui::Context) -> Vec<KeyAction> {
    let typing = ctx.text_edit_focused();
    let mut actions = Vec::new();
    ctx.input_mut(|input| {
        input.events.retain(|event| {
            let egui::Event::Key {
                key,
                pressed: true,
                modifiers,
                ..
            } = event
            else {
                return true;
            };
            match binding_for(*key, *modifiers, typing) {
                Some(b) => {
                    actions.push(b.action);
                    false
                }
                None => true,
            }
        });
    });
    actions
}

/// The first binding that a key press with `modifiers` matches.
fn binding_for(key: Key, m: Modifiers, typing: bool) -> Option<&'static Binding> {
    BINDINGS.iter().find(|b| {
        if b.key != key || (typing && !b.action.works_in_text_fields()) {
            return false;
        }
        if b.modifiers.is_none() {
            // Plain keys must not fire under Ctrl/Alt, nor under Shift unless the symbol
            // itself needs Shift (`?`, `+`).
            let shifted_symbol = matches!(b.key, Key::Questionmark | Key::Plus);
            !(m.command || m.ctrl || m.alt || (m.shift && !shifted_symbol))
        } else {
            // An extra Shift is ignored, so Ctrl+Shift+Z is listed before Ctrl+Z.
            m.matches_logically(b.modifiers)
        }
    })
}

/// docs/keys.md, generated from [`BINDINGS`] (a test keeps the file current).
pub fn keys_markdown() -> String {
    let mut md = String::from(
        "# Keys\n\nEvery action of the app has a key. Plain keys are ignored while a text \
         field has focus (press Esc to leave it). Press `?` or F1 in the app for this list.\n\n\
         | Keys | Action |\n|---|---|\n",
    );
    for (keys, action) in overlay_rows() {
        md.push_str(&format!(
            "| {} | {} |\n",
            keys.replace('|', "\\|"),
            action.description()
        ));
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn no_two_bindings_share_a_chord() {
        let mut seen = HashSet::new();
        for b in BINDINGS {
            let chord = (
                b.modifiers.command,
                b.modifiers.shift,
                b.modifiers.alt,
                b.key,
            );
            assert!(
                seen.insert(chord),
                "chord bound twice: {}",
                binding_label(b)
            );
        }
    }

    #[test]
    fn redo_chord_is_tried_before_undo() {
        let redo = BINDINGS
            .iter()
            .position(|b| b.action == KeyAction::Redo && b.modifiers.shift)
            .unwrap();
        let undo = BINDINGS
            .iter()
            .position(|b| b.action == KeyAction::Undo)
            .unwrap();
        assert!(redo < undo);
        // The overlay lists them the way round a reader expects.
        let rows = overlay_rows();
        let at = |a: KeyAction| rows.iter().position(|(_, x)| *x == a).unwrap();
        assert_eq!(at(KeyAction::Undo) + 1, at(KeyAction::Redo));
    }

    #[test]
    fn docs_keys_md_is_current() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/keys.md");
        if std::env::var_os("UPDATE_DOCS").is_some() {
            std::fs::write(&path, keys_markdown()).unwrap();
        }
        let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
        assert_eq!(
            on_disk,
            keys_markdown(),
            "docs/keys.md is stale; regenerate it: UPDATE_DOCS=1 cargo test --lib keys"
        );
    }
}
