//! Everything the views ask for, as values. The views only read state and push commands;
//! [`MaskCuratorApp::apply`] runs them after the frame is drawn, in one place.

use super::app::MaskCuratorApp;
use super::keys::KeyAction;
use super::state::View;
use crate::curation::{IdentityDecision, ReviewDecision};
use crate::dataset::{AgeBin, Gender, Mask, Slot};
use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    OpenDataset(PathBuf),
    OpenDemo,
    Browse,
    CloseDataset,
    ForgetRecent(PathBuf),
    Show(View),
    /// Select a person (index into the dataset) without changing the view.
    SelectPerson(usize),
    /// Select a person and show the person view.
    OpenPerson(usize),
    SelectPhoto(Slot),
    /// Move through the people list as filtered in the grid.
    StepPerson(i32),
    StepPhoto(i32),
    /// Go to a position of the (filtered) review queue.
    QueueGo(usize),
    QueueStep(i32),
    SetMask {
        person: usize,
        slot: Slot,
        mask: Mask,
    },
    SetGender {
        person: usize,
        gender: Gender,
    },
    SetAgeYears {
        person: usize,
        years: u32,
    },
    SetAgeBin {
        person: usize,
        bin: AgeBin,
    },
    /// Set the person's note (blanks remove it).
    SetNote {
        person: usize,
        text: String,
    },
    /// Decide on the current queue item; `Accepted` applies the suggestion.
    Decide(ReviewDecision),
    /// Decide whether `person` and `other` are one person; without `other`, the person's
    /// first candidate not yet decided (else the first).
    DecideIdentity {
        person: usize,
        other: Option<usize>,
        decision: IdentityDecision,
    },
    /// Give the other ids of this person's group its gender and age (one undo step).
    CopyLabelsToSamePerson(usize),
    Undo,
    Redo,
    Export,
    ToggleHelp,
    ToggleTrainPanel,
    /// A training run finished: the newest finished run feeds the queue, unless it scores
    /// below the current one (then the app asks).
    ReloadRun,
    /// Feed the review queue from this run (by id).
    UseRun(String),
    /// Answer "keep the current run" to the question about a worse new run.
    KeepCurrentRun,
    /// Remove every review-queue filter.
    ClearQueueFilters,
    /// Review this issue (by id): the queue shows it, lifting the filters that hide it.
    ReviewIssue(String),
    /// The people grid with only these people (ascending), every other filter cleared;
    /// `name` says what they are ("Map selection").
    ShowPeopleOnly {
        people: Vec<usize>,
        name: String,
    },
    /// Show a message in the status bar.
    Say(String),
    /// Show an error in the status bar.
    Warn(String),
    Zoom(f32),
    /// List the possible tier in the review queue too, or not.
    TogglePossible,
    /// Show (true) or close the selected photo at the size of the window.
    PhotoViewer(bool),
    FocusSearch,
    FocusAgeField,
    FocusNoteField,
    Escape,
}

/// The command a key press means on the current screen (`None`: nothing to do there).
pub fn command_for_key(app: &MaskCuratorApp, action: KeyAction) -> Option<Command> {
    let view = app.state.view;
    let on_labels = matches!(view, View::Person | View::Review) && app.rt.session.is_some();
    let person = app.rt.current_person(view);
    let slot = app.rt.selected_slot;
    if on_labels && action.edits_labels() && person.is_none() {
        return Some(Command::Say(
            "No person on screen: label keys do nothing here".to_string(),
        ));
    }
    Some(match action {
        KeyAction::Undo => Command::Undo,
        KeyAction::Redo => Command::Redo,
        KeyAction::Export => Command::Export,
        KeyAction::Help => Command::ToggleHelp,
        KeyAction::Escape => Command::Escape,
        KeyAction::ShowOverview => Command::Show(View::Overview),
        KeyAction::ShowPeople => Command::Show(View::People),
        KeyAction::ShowPerson => Command::Show(View::Person),
        KeyAction::ShowReview => Command::Show(View::Review),
        KeyAction::ShowEval => Command::Show(View::Eval),
        KeyAction::ShowMap => Command::Show(View::Map),
        KeyAction::ToggleTrainPanel => Command::ToggleTrainPanel,
        KeyAction::ZoomIn => Command::Zoom(1.15),
        KeyAction::ZoomOut => Command::Zoom(1.0 / 1.15),
        KeyAction::Search => Command::FocusSearch,
        KeyAction::Next | KeyAction::Previous => {
            let step = if action == KeyAction::Next { 1 } else { -1 };
            match view {
                View::Review => Command::QueueStep(step),
                View::People | View::Person => Command::StepPerson(step),
                View::Overview | View::Eval | View::Map => return None,
            }
        }
        KeyAction::PageDown | KeyAction::PageUp | KeyAction::Home | KeyAction::End => {
            let page = match view {
                View::Review => app.rt.queue_page_rows.max(1) as i32,
                _ => app.rt.grid_page_rows.max(1) as i32,
            };
            // Steps are clamped to the list, so a huge step lands on its end.
            let step = match action {
                KeyAction::PageDown => page,
                KeyAction::PageUp => -page,
                KeyAction::Home => -(i32::MAX / 2),
                _ => i32::MAX / 2,
            };
            match view {
                View::Review if action == KeyAction::Home => Command::QueueGo(0),
                View::Review if action == KeyAction::End => Command::QueueGo(usize::MAX),
                View::Review => Command::QueueStep(step),
                View::People | View::Person => Command::StepPerson(step),
                View::Overview | View::Eval | View::Map => return None,
            }
        }
        KeyAction::NextPhoto if on_labels || view == View::People => Command::StepPhoto(1),
        KeyAction::PreviousPhoto if on_labels || view == View::People => Command::StepPhoto(-1),
        KeyAction::OpenPerson => Command::OpenPerson(app.rt.selected_person?),
        KeyAction::TogglePossible if view == View::Review => Command::TogglePossible,
        KeyAction::ViewPhoto if on_labels || view == View::People => {
            app.rt.viewed_person(view)?;
            Command::PhotoViewer(!app.rt.photo_viewer)
        }
        KeyAction::MaskWear | KeyAction::MaskIncorrect | KeyAction::MaskNotWear if on_labels => {
            let mask = match action {
                KeyAction::MaskWear => Mask::Wear,
                KeyAction::MaskIncorrect => Mask::Incorrect,
                _ => Mask::NotWear,
            };
            Command::SetMask {
                person: person?,
                slot,
                mask,
            }
        }
        KeyAction::GenderMale if on_labels => Command::SetGender {
            person: person?,
            gender: Gender::Male,
        },
        KeyAction::GenderFemale if on_labels => Command::SetGender {
            person: person?,
            gender: Gender::Female,
        },
        KeyAction::AgeYoung if on_labels => Command::SetAgeBin {
            person: person?,
            bin: AgeBin::Young,
        },
        KeyAction::AgeMiddle if on_labels => Command::SetAgeBin {
            person: person?,
            bin: AgeBin::Middle,
        },
        KeyAction::AgeOld if on_labels => Command::SetAgeBin {
            person: person?,
            bin: AgeBin::Old,
        },
        KeyAction::EditAgeYears if on_labels => Command::FocusAgeField,
        KeyAction::EditNote if on_labels => Command::FocusNoteField,
        KeyAction::AcceptSuggestion if view == View::Review => {
            Command::Decide(ReviewDecision::Accepted)
        }
        KeyAction::Keep if view == View::Review => Command::Decide(ReviewDecision::Keep),
        KeyAction::NeedsReview if view == View::Review => {
            Command::Decide(ReviewDecision::NeedsReview)
        }
        KeyAction::SamePerson | KeyAction::DifferentPeople if on_labels => {
            Command::DecideIdentity {
                person: person?,
                other: None,
                decision: if action == KeyAction::SamePerson {
                    IdentityDecision::Same
                } else {
                    IdentityDecision::Different
                },
            }
        }
        _ => return None,
    })
}
