//! The app: persistent state + runtime resources, one frame = poll jobs, read keys, draw
//! (views push commands), apply commands.

use super::commands::{command_for_key, Command};
use super::jobs::{JobOutput, Jobs};
use super::session::{ItemStatus, QueueItem, Session};
use super::state::{PeopleFilter, PersistentState, QueueFilter, ReviewedFilter, SortBy, View};
use super::thumb_textures::{TextureBudget, ThumbTextures};
use super::{keys, views};
use crate::curation::ReviewDecision;
use crate::dataset::{Field, Slot};
use crate::thumbs::ThumbConfig;
use std::path::PathBuf;

/// How the app starts.
#[derive(Debug, Clone)]
pub struct AppOptions {
    /// Dataset to open at start (the command line's DIR).
    pub open: Option<PathBuf>,
    /// Where the one-click demo dataset lives (generated there when missing).
    pub demo_dir: PathBuf,
    /// Read and write eframe's persistent storage (off in tests).
    pub use_storage: bool,
}

impl Default for AppOptions {
    fn default() -> Self {
        AppOptions {
            open: None,
            demo_dir: PathBuf::from("demo-data"),
            use_storage: true,
        }
    }
}

/// A short message in the status bar.
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    pub text: String,
    pub is_error: bool,
}

/// Runtime resources and transient UI state (not persisted).
pub struct Runtime {
    pub options: AppOptions,
    pub session: Option<Session>,
    pub jobs: Jobs,
    /// The path field of the open screen.
    pub path_text: String,
    /// Why the last open failed, shown on the open screen.
    pub open_error: Option<String>,
    /// The folder being opened.
    pub opening: Option<PathBuf>,
    pub notice: Option<Notice>,
    pub selected_person: Option<usize>,
    pub selected_slot: Slot,
    /// Position in the filtered review queue.
    pub queue_pos: usize,
    pub show_help: bool,
    /// Text of the age-years field in the person / review panel.
    pub age_text: String,
    pub age_text_person: Option<usize>,
    pub focus_age: bool,
    pub focus_search: bool,
    /// Scroll the people grid so the selected person shows.
    pub scroll_to_selected: bool,
    pub last_export: Option<PathBuf>,
    pub overview_counts: Option<super::views::Counts>,
    /// Grid thumbnails (small, disk-cached) and the large photos of the person view.
    pub thumbs: Option<ThumbTextures>,
    pub photos: Option<ThumbTextures>,
    pub ctx: egui::Context,
    people_cache: Option<(PeopleFilter, u64, Vec<usize>)>,
    queue_cache: Option<(QueueFilter, u64, usize, Vec<usize>)>,
    /// The training side panel, made for the open dataset when first shown.
    #[cfg(feature = "torch")]
    pub train_panel: Option<super::train_panel::TrainPanel>,
}

impl Runtime {
    /// The person the label keys act on: in review the current item's, else the selection.
    pub fn current_person(&self) -> Option<usize> {
        self.selected_person
    }

    /// People indices passing the filter, in the chosen order (cached per label generation).
    pub fn people(&mut self, filter: &PeopleFilter) -> &[usize] {
        let Some(session) = &self.session else {
            return &[];
        };
        let fresh = matches!(&self.people_cache, Some((f, g, _)) if f == filter && *g == session.generation);
        if !fresh {
            let list = filter_people(session, filter);
            self.people_cache = Some((filter.clone(), session.generation, list));
        }
        self.people_cache
            .as_ref()
            .map_or(&[], |(_, _, l)| l.as_slice())
    }

    /// Queue item indices passing the filter (cached per label generation).
    pub fn queue(&mut self, filter: &QueueFilter) -> &[usize] {
        let Some(session) = &self.session else {
            return &[];
        };
        let Some(issues) = &session.issues else {
            return &[];
        };
        let n = issues.items.len();
        let fresh = matches!(&self.queue_cache, Some((f, g, len, _)) if f == filter && *g == session.generation && *len == n);
        if !fresh {
            let list: Vec<usize> = issues
                .items
                .iter()
                .enumerate()
                .filter(|(_, it)| filter.field.is_none_or(|f| f == it.field))
                .filter(|(_, it)| filter.kind.as_ref().is_none_or(|k| *k == it.kind))
                .filter(|(_, it)| !filter.open_only || session.item_status(it) == ItemStatus::Open)
                .map(|(i, _)| i)
                .collect();
            self.queue_cache = Some((filter.clone(), session.generation, n, list));
        }
        self.queue_cache
            .as_ref()
            .map_or(&[], |(_, _, _, l)| l.as_slice())
    }

    fn invalidate(&mut self) {
        self.people_cache = None;
        self.queue_cache = None;
    }

    pub fn notify(&mut self, text: impl Into<String>) {
        self.notice = Some(Notice {
            text: text.into(),
            is_error: false,
        });
    }

    pub fn error(&mut self, text: impl Into<String>) {
        self.notice = Some(Notice {
            text: text.into(),
            is_error: true,
        });
    }
}

fn filter_people(session: &Session, f: &PeopleFilter) -> Vec<usize> {
    let needle = f.text.trim().to_lowercase();
    let ds = &session.dataset;
    let mut list: Vec<usize> = (0..ds.people.len())
        .filter(|&p| {
            let person = &ds.people[p];
            let photos = || person.photos.iter().flatten();
            f.gender.is_none_or(|g| session.gender(p) == g)
                && f.age.is_none_or(|a| session.age_bin(p) == a)
                && f.mask
                    .is_none_or(|m| photos().any(|ph| session.mask(p, ph.slot) == m))
                && f.class
                    .is_none_or(|c| photos().any(|ph| session.class_of(p, ph.slot).index() == c))
                && (!f.flagged_only
                    || session
                        .issues
                        .as_ref()
                        .is_some_and(|i| i.by_person.contains_key(&p)))
                && (!f.edited_only || session.is_edited(p))
                && match f.reviewed {
                    ReviewedFilter::Any => true,
                    ReviewedFilter::Open => session.person_status(p) == Some(ItemStatus::Open),
                    ReviewedFilter::NeedsReview => {
                        session.person_status(p) == Some(ItemStatus::NeedsReview)
                    }
                    ReviewedFilter::Reviewed => {
                        session.is_edited(p)
                            || matches!(
                                session.person_status(p),
                                Some(ItemStatus::Kept | ItemStatus::Accepted | ItemStatus::Fixed)
                            )
                    }
                }
                && (needle.is_empty()
                    || person.folder.to_lowercase().contains(&needle)
                    || person.id.to_lowercase().contains(&needle))
        })
        .collect();
    match f.sort {
        SortBy::Id => list.sort_by(|&a, &b| ds.people[a].folder.cmp(&ds.people[b].folder)),
        SortBy::IssueScore => {
            if let Some(issues) = &session.issues {
                list.sort_by(|&a, &b| {
                    issues
                        .person_score(b)
                        .total_cmp(&issues.person_score(a))
                        .then(a.cmp(&b))
                });
            }
        }
    }
    list
}

pub struct MaskCuratorApp {
    pub state: PersistentState,
    pub rt: Runtime,
    commands: Vec<Command>,
}

const STORAGE_KEY: &str = "mask-curator-state";

impl MaskCuratorApp {
    /// Builds the app from eframe's creation context (also what egui_kittest calls).
    pub fn new(cc: &eframe::CreationContext<'_>, options: AppOptions) -> Self {
        let state = if options.use_storage {
            cc.storage
                .and_then(|s| eframe::get_value::<PersistentState>(s, STORAGE_KEY))
                .unwrap_or_default()
        } else {
            PersistentState::default()
        };
        super::theme::install(&cc.egui_ctx);
        let mut app = MaskCuratorApp {
            state,
            rt: Runtime {
                jobs: Jobs::new(Some(cc.egui_ctx.clone())),
                options: options.clone(),
                session: None,
                path_text: String::new(),
                open_error: None,
                opening: None,
                notice: None,
                selected_person: None,
                selected_slot: Slot::Mask1,
                queue_pos: 0,
                show_help: false,
                age_text: String::new(),
                age_text_person: None,
                focus_age: false,
                focus_search: false,
                scroll_to_selected: false,
                last_export: None,
                overview_counts: None,
                thumbs: None,
                photos: None,
                ctx: cc.egui_ctx.clone(),
                people_cache: None,
                queue_cache: None,
                #[cfg(feature = "torch")]
                train_panel: None,
            },
            commands: Vec::new(),
        };
        if let Some(dir) = options.open {
            app.rt.path_text = dir.display().to_string();
            app.apply(Command::OpenDataset(dir));
        }
        app
    }

    /// True while a background job (open, scan, folder picker, run reload) runs.
    pub fn is_busy(&self) -> bool {
        self.rt.jobs.is_busy()
    }

    pub fn session(&self) -> Option<&Session> {
        self.rt.session.as_ref()
    }

    /// The current queue item (after filters), if any.
    pub fn current_item(&mut self) -> Option<QueueItem> {
        let filter = self.state.queue_filter.clone();
        let pos = self.rt.queue_pos;
        let idx = *self.rt.queue(&filter).get(pos)?;
        self.rt
            .session
            .as_ref()?
            .issues
            .as_ref()?
            .items
            .get(idx)
            .cloned()
    }

    pub fn push(&mut self, cmd: Command) {
        self.commands.push(cmd);
    }

    fn poll_jobs(&mut self) {
        for out in self.rt.jobs.poll() {
            match out {
                JobOutput::Opened { dir, result } => {
                    self.rt.opening = None;
                    match result {
                        Ok(session) => {
                            let session = *session;
                            let root = session.root().to_path_buf();
                            if let Some(note) = &session.replay_note {
                                self.rt.notify(note.clone());
                            } else {
                                self.rt.notify(format!(
                                    "Opened {} ({} people)",
                                    root.display(),
                                    session.dataset.people.len()
                                ));
                            }
                            self.state
                                .remember(&std::fs::canonicalize(&root).unwrap_or(root));
                            let ws = session.workspace.clone();
                            self.rt.thumbs = Some(ThumbTextures::new(
                                &self.rt.ctx,
                                ThumbConfig::for_workspace(&ws),
                                TextureBudget::default(),
                            ));
                            // Full-size photos for the person view: few at a time, no disk copy.
                            let large = ThumbConfig {
                                max_w: 384,
                                max_h: 512,
                                disk_cache: None,
                                workers: 1,
                                queue_cap: 32,
                            };
                            self.rt.photos = Some(ThumbTextures::new(
                                &self.rt.ctx,
                                large,
                                TextureBudget {
                                    max_bytes: 64 << 20,
                                    uploads_per_frame: 8,
                                    ..TextureBudget::default()
                                },
                            ));
                            self.rt.session = Some(session);
                            #[cfg(feature = "torch")]
                            {
                                self.rt.train_panel = None;
                            }
                            self.rt.open_error = None;
                            self.rt.selected_person = None;
                            self.rt.queue_pos = 0;
                            self.rt.invalidate();
                            self.select_queue_item(0);
                            if self.rt.selected_person.is_none() {
                                self.rt.selected_person = Some(0);
                            }
                        }
                        Err(e) => {
                            self.rt.open_error =
                                Some(format!("Cannot open {}: {e}", dir.display()));
                        }
                    }
                }
                JobOutput::Browsed(Some(dir)) => {
                    self.rt.path_text = dir.display().to_string();
                    self.apply(Command::OpenDataset(dir));
                }
                JobOutput::Browsed(None) => {}
                JobOutput::Exported(Ok(dir)) => {
                    self.rt.notify(format!("Exported to {}", dir.display()));
                    self.rt.last_export = Some(dir);
                }
                JobOutput::Exported(Err(e)) => self.rt.error(e),
                JobOutput::RunReloaded(result) => match (result, self.rt.session.as_mut()) {
                    (Ok((probs, issues)), Some(session)) => {
                        let n = issues.as_ref().map_or(0, |i| i.items.len());
                        let run = probs.as_ref().map(|p| p.run_id.clone());
                        session.probs = probs;
                        session.issues = issues;
                        session.generation += 1;
                        self.rt.invalidate();
                        self.rt.queue_pos = 0;
                        match run {
                            Some(run) => self.rt.notify(format!("Loaded run {run}: {n} issues")),
                            None => self.rt.notify("No finished run yet"),
                        }
                    }
                    (Err(e), _) => self.rt.error(format!("Cannot load the newest run: {e}")),
                    (Ok(_), None) => {}
                },
            }
        }
    }

    /// Moves the queue to `pos` and selects its person and photo.
    fn select_queue_item(&mut self, pos: usize) {
        let filter = self.state.queue_filter.clone();
        let len = self.rt.queue(&filter).len();
        if len == 0 {
            self.rt.queue_pos = 0;
            return;
        }
        self.rt.queue_pos = pos.min(len - 1);
        if let Some(item) = self.current_item() {
            self.rt.selected_person = Some(item.person);
            if let Some(slot) = item.slot {
                self.rt.selected_slot = slot;
            }
        }
    }

    /// After a decision: the next item still open below the current one, else the first
    /// open one above it (the annotator never has to hunt for what is left), else stay.
    /// Returns false when nothing is left open.
    fn move_to_next_open(&mut self) -> bool {
        let filter = self.state.queue_filter.clone();
        let pos = self.rt.queue_pos;
        let Some(session) = self.rt.session.as_ref() else {
            return false;
        };
        let Some(issues) = session.issues.as_ref() else {
            return false;
        };
        // Computed before `queue` borrows the runtime mutably.
        let open: Vec<bool> = issues
            .items
            .iter()
            .map(|it| session.item_status(it) == ItemStatus::Open)
            .collect();
        let list = self.rt.queue(&filter).to_vec();
        // With "open only" the resolved item has dropped out: the next one now sits at `pos`.
        let start = if filter.open_only { pos } else { pos + 1 };
        let next = (start..list.len())
            .chain(0..start.min(list.len()))
            .find(|&i| open.get(list[i]).copied().unwrap_or(false));
        match next {
            Some(i) => {
                self.select_queue_item(i);
                true
            }
            None => {
                self.select_queue_item(pos);
                false
            }
        }
    }

    /// Runs one command. The single place where app state changes.
    pub fn apply(&mut self, cmd: Command) {
        match cmd {
            Command::OpenDataset(dir) => {
                self.rt.open_error = None;
                self.rt.opening = Some(dir.clone());
                self.rt.jobs.open(dir, false);
            }
            Command::OpenDemo => {
                let dir = self.rt.options.demo_dir.clone();
                self.rt.path_text = dir.display().to_string();
                self.rt.open_error = None;
                self.rt.opening = Some(dir.clone());
                self.rt.jobs.open(dir, true);
            }
            Command::Browse => {
                let start = Some(PathBuf::from(self.rt.path_text.trim()))
                    .filter(|p| !p.as_os_str().is_empty());
                self.rt.jobs.browse(start);
            }
            Command::CloseDataset => {
                self.rt.session = None;
                #[cfg(feature = "torch")]
                {
                    self.rt.train_panel = None;
                }
                self.rt.thumbs = None;
                self.rt.photos = None;
                self.rt.invalidate();
            }
            Command::ForgetRecent(dir) => self.state.recent.retain(|p| *p != dir),
            Command::Show(view) => {
                self.state.view = view;
                if view == View::People {
                    self.rt.scroll_to_selected = true;
                }
                if view == View::Review {
                    let pos = self.rt.queue_pos;
                    self.select_queue_item(pos);
                }
            }
            Command::SelectPerson(p) => {
                self.rt.selected_person = Some(p);
            }
            Command::OpenPerson(p) => {
                self.rt.selected_person = Some(p);
                self.state.view = View::Person;
            }
            Command::SelectPhoto(slot) => self.rt.selected_slot = slot,
            Command::StepPhoto(step) => {
                let i = (self.rt.selected_slot.index() as i32 + step)
                    .rem_euclid(Slot::ALL.len() as i32);
                self.rt.selected_slot = Slot::ALL[i as usize];
            }
            Command::StepPerson(step) => {
                let filter = self.state.people_filter.clone();
                let current = self.rt.selected_person;
                let list = self.rt.people(&filter);
                if list.is_empty() {
                    return;
                }
                let pos = current.and_then(|c| list.iter().position(|&p| p == c));
                let next = match pos {
                    Some(i) => (i as i64 + step as i64).clamp(0, list.len() as i64 - 1) as usize,
                    None => 0,
                };
                self.rt.selected_person = Some(list[next]);
                self.rt.scroll_to_selected = true;
            }
            Command::QueueGo(pos) => self.select_queue_item(pos),
            Command::QueueStep(step) => {
                let pos = (self.rt.queue_pos as i64 + step as i64).max(0) as usize;
                self.select_queue_item(pos);
                self.rt.scroll_to_selected = true;
            }
            Command::SetMask { person, slot, mask } => {
                let r = self.with_session(|s| s.set_mask(person, slot, mask, "set by hand"));
                self.after_edit(
                    r,
                    Field::Mask,
                    format!("Mask of {} set to {}", slot.stem(), mask.name()),
                );
            }
            Command::SetGender { person, gender } => {
                let r = self.with_session(|s| s.set_gender(person, gender, "set by hand"));
                self.after_edit(
                    r,
                    Field::Gender,
                    format!("Gender set to {} (all photos)", gender.name()),
                );
            }
            Command::SetAgeYears { person, years } => {
                let r = self.with_session(|s| s.set_age_years(person, years, "set by hand"));
                self.after_edit(r, Field::Age, format!("Age set to {years}"));
            }
            Command::SetAgeBin { person, bin } => {
                let years = self
                    .rt
                    .session
                    .as_ref()
                    .map(|s| super::session::nearest_age_in_bin(s.age_years(person), bin))
                    .unwrap_or(bin.representative_years());
                let r =
                    self.with_session(|s| s.set_age_years(person, years, "age bin set by hand"));
                self.after_edit(
                    r,
                    Field::Age,
                    format!("Age set to {years} ({})", bin.name()),
                );
            }
            Command::Decide(decision) => {
                let Some(item) = self.current_item() else {
                    self.rt.notify("No issue selected");
                    return;
                };
                let r = self.with_session(|s| s.decide(&item, decision));
                let what = match decision {
                    ReviewDecision::Keep => "Kept the given label",
                    ReviewDecision::Accepted => "Accepted the suggestion",
                    ReviewDecision::NeedsReview => "Marked as needs review",
                };
                self.after_edit(r, item.field, what.to_string());
            }
            Command::Undo => match self.with_session(|s| s.undo()) {
                Ok(true) => self.rt.notify("Undone (saved)"),
                Ok(false) => self.rt.notify("Nothing to undo"),
                Err(e) => self.rt.error(e),
            },
            Command::Redo => match self.with_session(|s| s.redo()) {
                Ok(true) => self.rt.notify("Redone (saved)"),
                Ok(false) => self.rt.notify("Nothing to redo"),
                Err(e) => self.rt.error(e),
            },
            Command::Export => match self.rt.session.as_ref().map(|s| s.prepare_export()) {
                Some(Ok((prepared, dir))) => self.rt.jobs.export(prepared, dir),
                Some(Err(e)) => self.rt.error(e),
                None => self.rt.notify("Open a dataset first"),
            },
            Command::ToggleHelp => self.rt.show_help = !self.rt.show_help,
            Command::ToggleTrainPanel => self.state.show_train_panel = !self.state.show_train_panel,
            Command::ReloadRun => {
                if let Some(s) = &self.rt.session {
                    self.rt
                        .jobs
                        .reload_run(s.dataset.clone(), s.curation_labels());
                }
            }
            Command::Zoom(f) => {
                if self.state.view == View::People {
                    self.state.thumb_height = (self.state.thumb_height * f).clamp(40.0, 200.0);
                } else {
                    self.state.zoom(f);
                }
            }
            Command::FocusSearch => {
                self.state.view = View::People;
                self.rt.focus_search = true;
            }
            Command::FocusAgeField => self.rt.focus_age = true,
            Command::Escape => self.rt.show_help = false,
        }
    }

    fn with_session<T>(
        &mut self,
        f: impl FnOnce(&mut Session) -> Result<T, String>,
    ) -> Result<T, String> {
        match self.rt.session.as_mut() {
            Some(s) => {
                let r = f(s);
                self.rt.invalidate();
                self.rt.age_text_person = None;
                r
            }
            None => Err("Open a dataset first".into()),
        }
    }

    /// After an edit: report, and in the review queue move on when the edit resolved the
    /// current item's field.
    fn after_edit(&mut self, result: Result<(), String>, field: Field, what: String) {
        match result {
            Ok(()) => {
                let mut notice = format!("{what} — saved");
                if self.state.view == View::Review {
                    let resolves = self.current_item().is_some_and(|it| it.field == field);
                    if resolves && !self.move_to_next_open() {
                        notice.push_str(". Every issue in this queue has been reviewed");
                    }
                }
                self.rt.notify(notice);
            }
            Err(e) => self.rt.error(e),
        }
    }

    fn handle_keys(&mut self, ctx: &egui::Context) {
        for action in keys::take_actions(ctx) {
            if action == keys::KeyAction::Escape && ctx.text_edit_focused() {
                ctx.memory_mut(|m| {
                    if let Some(id) = m.focused() {
                        m.surrender_focus(id);
                    }
                });
                continue;
            }
            if let Some(cmd) = command_for_key(self, action) {
                self.commands.push(cmd);
            }
        }
    }
}

impl eframe::App for MaskCuratorApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.poll_jobs();
        let ctx = ui.ctx().clone();
        if self.rt.session.is_some() {
            self.handle_keys(&ctx);
        }
        let mut commands = std::mem::take(&mut self.commands);
        views::frame_ui(ui, &mut self.state, &mut self.rt, &mut commands);
        for textures in [&mut self.rt.thumbs, &mut self.rt.photos]
            .into_iter()
            .flatten()
        {
            textures.end_frame(&ctx);
        }
        if !commands.is_empty() {
            // The frame was drawn before these ran; show their effect right away.
            ctx.request_repaint();
        }
        for cmd in commands {
            self.apply(cmd);
        }
        if self.rt.jobs.is_busy() {
            // Keeps the spinner moving; job results also wake the UI themselves.
            ctx.request_repaint_after(std::time::Duration::from_millis(100));
        }
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        if self.rt.options.use_storage {
            eframe::set_value(storage, STORAGE_KEY, &self.state);
        }
    }
}
