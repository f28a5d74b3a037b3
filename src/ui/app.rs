//! The app: persistent state + runtime resources, one frame = poll jobs, read keys, draw
//! (views push commands), apply commands.

use super::commands::{command_for_key, Command};
use super::jobs::{JobOutput, Jobs};
use super::state::{PeopleFilter, PersistentState, QueueFilter, View};
use super::thumb_textures::{TextureBudget, ThumbTextures};
use super::{keys, views};
use crate::curation::JournalEntry;
use crate::dataset::{AgeBin, Field, Gender, Mask, Slot};
use crate::review_queue::RunChoice;
use crate::thumbs::ThumbConfig;
use crate::workbench::queries::filter_people;
use crate::workbench::session::{ItemStatus, QueueItem, Session, SessionError};
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

/// The status line when the review queue starts listing the possible tier.
const POSSIBLE_LISTED: &str = "The queue lists the possible items too (P hides them)";

/// Where the review queue went after the item on screen was settled.
enum NextItem {
    /// To the next open item.
    Open,
    /// No open item is left: to one marked needs review (of this many).
    NeedsReview(usize),
    /// Nowhere: no open item, and no marked one but perhaps the one on screen.
    NoneLeft { needs_review: usize },
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
    /// The selected photo is shown at the size of the window (Z).
    pub photo_viewer: bool,
    /// Text of the age-years field in the person / review panel.
    pub age_text: String,
    pub age_text_person: Option<usize>,
    pub focus_age: bool,
    /// The note field's text while it is edited, and whose note it is.
    pub note_text: String,
    pub note_text_person: Option<usize>,
    pub focus_note: bool,
    /// The note field was just focused and is not yet fully on screen.
    pub note_into_view: bool,
    /// Esc was pressed this frame: a text field it left drops what was typed.
    pub text_cancelled: bool,
    pub focus_search: bool,
    /// Scroll the people grid so the selected person shows.
    pub scroll_to_selected: bool,
    pub last_export: Option<PathBuf>,
    pub overview_counts: Option<super::views::Counts>,
    /// The eval view's predictions, loaded when first shown for a run.
    pub eval_view: Option<super::views::EvalViewState>,
    /// The map view's settings and last drawn plot.
    pub map_view: Option<super::views::MapViewState>,
    /// The run whose embeddings analysis has come back (with or without a report): tells
    /// "still mapping" from "this run has none".
    pub embeddings_analysed: Option<String>,
    /// Why the analysed run's embeddings could not be used (a corrupt file).
    pub embeddings_error: Option<String>,
    /// Grid thumbnails (small, disk-cached) and the large photos of the person view.
    pub thumbs: Option<ThumbTextures>,
    pub photos: Option<ThumbTextures>,
    pub ctx: egui::Context,
    people_cache: Option<(PeopleFilter, u64, Vec<usize>)>,
    queue_cache: Option<(QueueFilter, u64, usize, Vec<usize>)>,
    /// The annotator's pace, for the journal length it was measured at.
    pace_cache: Option<(usize, Option<f64>)>,
    /// The issue id of the review item on screen; moving to another item resets the photo
    /// selection to that item's flagged photo.
    pub shown_item: Option<String>,
    /// The item the review's detail pane was last drawn for.
    pub detail_shown_for: Option<String>,
    /// The open dataset's canonical folder: the key of its remembered filters and position.
    pub dataset_key: Option<PathBuf>,
    /// The finished runs of the open dataset, newest first (the run picker's list).
    pub runs: Vec<RunChoice>,
    /// A newer run that scores below the one feeding the queue: the app asks before
    /// replacing the queue with it.
    pub pending_run: Option<RunChoice>,
    /// Rows one Page Up/Down moves in the people grid and the queue (set as they are drawn).
    pub grid_page_rows: usize,
    /// The people grid's scroll offset as last drawn: where "off screen" is measured from
    /// when a key moves the selection.
    pub grid_offset: f32,
    pub queue_page_rows: usize,
    /// Height of the photo tiles last drawn in the person or review view: zooming starts
    /// from what is on screen, not from a size the layout capped.
    pub shown_photo_height: f32,
    /// The training side panel, made for the open dataset when first shown.
    pub train_panel: Option<super::train_panel::TrainPanel>,
    /// Stops the photo check of the open dataset when it is closed or another opens.
    pub photo_check_cancel: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
}

impl Runtime {
    /// The person whose photo the large view shows: the one the label keys act on, and in
    /// the people grid the selection.
    pub fn viewed_person(&self, view: View) -> Option<usize> {
        match view {
            View::People => self.selected_person,
            _ => self.current_person(view),
        }
    }

    /// The person the label keys act on: in review the item on screen's (none when the
    /// queue shows nothing), in the person view the selection, elsewhere none.
    pub fn current_person(&self, view: View) -> Option<usize> {
        match view {
            View::Review => self.shown_item.as_ref().and(self.selected_person),
            View::Person => self.selected_person,
            View::People | View::Overview | View::Eval | View::Map => None,
        }
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
            let passes = |it: &QueueItem| {
                filter.field.is_none_or(|f| f == it.field)
                    && filter.kind.as_ref().is_none_or(|k| *k == it.kind)
                    && (!filter.open_only || session.item_status(it) == ItemStatus::Open)
            };
            let list =
                crate::workbench::queries::review_order(session, passes, filter.show_possible);
            self.queue_cache = Some((filter.clone(), session.generation, n, list));
        }
        self.queue_cache
            .as_ref()
            .map_or(&[], |(_, _, _, l)| l.as_slice())
    }

    /// Seconds an item takes the annotator ([`crate::workbench::queries::review_pace_secs`]),
    /// measured again only when the journal grows.
    pub fn pace_secs(&mut self) -> Option<f64> {
        let history = self.session.as_ref()?.history();
        match self.pace_cache {
            Some((len, pace)) if len == history.len() => pace,
            _ => {
                let pace = crate::workbench::queries::review_pace_secs(history);
                self.pace_cache = Some((history.len(), pace));
                pace
            }
        }
    }

    fn invalidate(&mut self) {
        self.people_cache = None;
        self.queue_cache = None;
        self.pace_cache = None;
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
                shown_item: None,
                detail_shown_for: None,
                dataset_key: None,
                runs: Vec::new(),
                pending_run: None,
                grid_page_rows: 10,
                grid_offset: 0.0,
                shown_photo_height: 0.0,
                queue_page_rows: 15,
                session: None,
                path_text: String::new(),
                open_error: None,
                opening: None,
                notice: None,
                selected_person: None,
                selected_slot: Slot::Mask1,
                queue_pos: 0,
                show_help: false,
                photo_viewer: false,
                age_text: String::new(),
                age_text_person: None,
                focus_age: false,
                note_text: String::new(),
                note_text_person: None,
                focus_note: false,
                note_into_view: false,
                text_cancelled: false,
                focus_search: false,
                scroll_to_selected: false,
                last_export: None,
                overview_counts: None,
                eval_view: None,
                map_view: None,
                embeddings_analysed: None,
                embeddings_error: None,
                thumbs: None,
                photos: None,
                ctx: cc.egui_ctx.clone(),
                people_cache: None,
                queue_cache: None,
                pace_cache: None,
                train_panel: None,
                photo_check_cancel: None,
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

    /// In the review queue the selection follows the item on screen: its person, and its
    /// flagged photo whenever another item comes up. Every path that moves the queue
    /// (keys, clicks, filters, a new run, undo) ends here, so label keys always act on
    /// what the annotator sees.
    fn sync_selection(&mut self) {
        self.anchor_queue_position();
        if self.state.view != View::Review {
            return;
        }
        let item = self.current_item();
        let id = item.as_ref().map(|i| i.issue_id.clone());
        if let Some(item) = &item {
            self.rt.selected_person = Some(item.person);
            if id != self.rt.shown_item {
                self.rt.selected_slot = item.slot.unwrap_or(Slot::Mask1);
            }
        }
        self.rt.shown_item = id;
    }

    /// Keeps the queue's position on the item last shown when the list changes under it:
    /// a label fixed in the person view brings its id neighbours' items to the top, and
    /// the item the annotator was on must stay the one on screen, not whatever now sits at
    /// its old index.
    fn anchor_queue_position(&mut self) {
        let Some(shown) = self.rt.shown_item.clone() else {
            return;
        };
        let filter = self.state.queue_filter.clone();
        self.rt.queue(&filter);
        let (Some((_, _, _, list)), Some(session)) = (&self.rt.queue_cache, &self.rt.session)
        else {
            return;
        };
        let Some(issues) = &session.issues else {
            return;
        };
        let is_shown = |i: &usize| issues.items.get(*i).is_some_and(|it| it.issue_id == shown);
        if list.get(self.rt.queue_pos).is_some_and(is_shown) {
            return;
        }
        // Gone from the list (decided with "open only", filtered out): the position stays.
        if let Some(pos) = list.iter().position(is_shown) {
            self.rt.queue_pos = pos;
        }
    }

    /// Remembers the open dataset's filters, queue position and chosen run.
    fn store_dataset_prefs(&mut self) {
        let Some(key) = self.rt.dataset_key.clone() else {
            return;
        };
        let item = self.current_item().map(|i| i.issue_id);
        // Only a run the annotator picked over the newest one is pinned: by default a
        // newer run takes over the queue.
        let newest = self.rt.runs.first().map(|r| r.id.clone());
        let run = self
            .rt
            .session
            .as_ref()
            .and_then(|s| s.probs.as_ref())
            .map(|p| p.run_id.clone())
            .filter(|id| Some(id) != newest.as_ref());
        self.state.store_dataset_prefs(&key, item, run);
    }

    /// Where the queue opens: the item on screen when the dataset was left, else the item
    /// after the last one decided or edited (from the journal), else the first open item.
    fn resume_position(&mut self, saved: Option<&str>) -> usize {
        let filter = self.state.queue_filter.clone();
        let list = self.rt.queue(&filter).to_vec();
        let Some(session) = self.rt.session.as_ref() else {
            return 0;
        };
        let Some(issues) = session.issues.as_ref() else {
            return 0;
        };
        if let Some(pos) =
            saved.and_then(|id| list.iter().position(|&i| issues.items[i].issue_id == id))
        {
            return pos;
        }
        let open = |pos: usize| session.item_status(&issues.items[list[pos]]) == ItemStatus::Open;
        let last_worked = session.history().iter().rev().find_map(|entry| {
            list.iter()
                .position(|&i| entry_concerns(session, entry, &issues.items[i]))
        });
        let start = last_worked.unwrap_or(0);
        (start..list.len())
            .chain(0..start)
            .find(|&pos| open(pos))
            .unwrap_or(start)
    }

    fn poll_jobs(&mut self) {
        for out in self.rt.jobs.poll() {
            match out {
                JobOutput::Opened { dir, result } => {
                    self.rt.opening = None;
                    match result {
                        Ok(session) => self.opened(*session),
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
                JobOutput::Exported(Ok((dir, summary))) => {
                    self.rt.notify(format!(
                        "Exported to {}: {}",
                        dir.display(),
                        summary.describe()
                    ));
                    self.rt.last_export = Some(dir);
                }
                JobOutput::Exported(Err(e)) => self.rt.error(e),
                JobOutput::PhotosChecked { root, result } => {
                    let Some(session) = self.rt.session.as_mut() else {
                        continue;
                    };
                    // A check of a dataset that has been closed since is dropped.
                    if session.dataset.root != root {
                        continue;
                    }
                    match result {
                        Ok(Some(report)) => {
                            session.photos = Some(std::sync::Arc::new(report));
                            self.rt.invalidate();
                        }
                        // Stopped because the dataset was left: nothing to say.
                        Ok(None) => {}
                        Err(e) => self.rt.error(format!("Photo checks failed: {e}")),
                    }
                }
                JobOutput::EmbeddingsAnalysed {
                    root,
                    run_id,
                    result,
                } => {
                    let Some(session) = self.rt.session.as_mut() else {
                        continue;
                    };
                    // An analysis of a run the session no longer shows is dropped.
                    let current = session.probs.as_ref().map(|p| p.run_id.as_str());
                    if session.dataset.root != root || current != Some(run_id.as_str()) {
                        continue;
                    }
                    match result {
                        Ok(report) => {
                            session.embeddings = report.map(std::sync::Arc::new);
                            self.rt.embeddings_analysed = Some(run_id);
                            self.rt.embeddings_error = None;
                            self.rt.map_view = None;
                            self.rt.invalidate();
                        }
                        Err(e) => {
                            session.embeddings = None;
                            self.rt.embeddings_analysed = Some(run_id);
                            self.rt.embeddings_error = Some(e.clone());
                            self.rt
                                .error(format!("The run's embeddings cannot be used: {e}"));
                        }
                    }
                }
                JobOutput::Failed { job, error } => self
                    .rt
                    .error(format!("{} failed: {error}", job.trim_end_matches('…'))),
                JobOutput::RunLoaded { run, result } => match (result, self.rt.session.as_mut()) {
                    (Ok(loaded), Some(session)) => {
                        let (probs, issues) = *loaded;
                        let n = issues.items.len();
                        session.set_run(probs, issues);
                        self.rt.embeddings_analysed = None;
                        self.rt.embeddings_error = None;
                        self.rt.map_view = None;
                        if let Some(probs) = &session.probs {
                            self.rt
                                .jobs
                                .analyse_embeddings(session.dataset.clone(), probs);
                        }
                        self.rt.invalidate();
                        self.rt.shown_item = None;
                        let pos = self.resume_position(None);
                        self.select_queue_item(pos);
                        let score = run
                            .macro_f1
                            .map(|f| format!(", out-of-fold macro F1 {f:.3}"))
                            .unwrap_or_default();
                        self.rt.notify(format!(
                            "The queue now shows run {}{score}: {}",
                            run.id,
                            crate::workbench::queries::counted(n, "issue")
                        ));
                    }
                    (Err(e), _) => self.rt.error(format!("Cannot load run {}: {e}", run.id)),
                    (Ok(_), None) => {}
                },
            }
        }
    }

    /// Stops a photo check still running for the dataset being left (a real dataset's
    /// first check takes half a minute of a core).
    fn stop_photo_check(&mut self) {
        if let Some(cancel) = self.rt.photo_check_cancel.take() {
            cancel.store(true, std::sync::atomic::Ordering::Relaxed);
        }
    }

    /// A dataset finished opening: textures, remembered filters and queue position.
    fn opened(&mut self, session: Session) {
        self.store_dataset_prefs();
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
        let key = dataset_key(&root);
        self.state.remember(&key);
        let prefs = self.state.load_dataset_prefs(&key);
        self.rt.dataset_key = Some(key);
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
        self.rt.runs = session.finished_runs();
        self.rt.pending_run = None;
        self.stop_photo_check();
        self.rt.photo_check_cancel = Some(self.rt.jobs.check_photos(session.dataset.clone()));
        self.rt.embeddings_analysed = None;
        self.rt.embeddings_error = None;
        self.rt.map_view = None;
        if let Some(probs) = &session.probs {
            self.rt
                .jobs
                .analyse_embeddings(session.dataset.clone(), probs);
        }
        self.rt.session = Some(session);
        {
            self.rt.train_panel = None;
        }
        self.rt.open_error = None;
        self.rt.selected_person = None;
        self.rt.shown_item = None;
        self.rt.queue_pos = 0;
        self.rt.invalidate();
        let pos = self.resume_position(prefs.queue_item.as_deref());
        self.select_queue_item(pos);
        // egui remembers where the list was scrolled (also between runs of the app): the
        // item resumed on must be in view, wherever that was.
        self.rt.scroll_to_selected = true;
        if self.rt.selected_person.is_none() {
            self.rt.selected_person = Some(0);
        }
    }

    /// Moves the queue to `pos` (clamped) and selects its person and flagged photo.
    fn select_queue_item(&mut self, pos: usize) {
        let filter = self.state.queue_filter.clone();
        let len = self.rt.queue(&filter).len();
        self.rt.queue_pos = pos.min(len.saturating_sub(1));
        if let Some(item) = self.current_item() {
            self.rt.selected_person = Some(item.person);
            self.rt.selected_slot = item.slot.unwrap_or(Slot::Mask1);
            self.rt.shown_item = Some(item.issue_id);
        }
    }

    /// Open items of the possible tier that the queue does not list (P hides them).
    fn open_possible_hidden(&self) -> usize {
        if self.state.queue_filter.show_possible {
            return 0;
        }
        let Some(session) = self.rt.session.as_ref() else {
            return 0;
        };
        session.issues.as_ref().map_or(0, |issues| {
            issues
                .items
                .iter()
                .filter(|it| {
                    it.tier == crate::issues::Tier::Possible
                        && session.item_status(it) == ItemStatus::Open
                })
                .count()
        })
    }

    /// Shows the issue `id` in the review queue. A filter that hides it is lifted (the
    /// possible tier is listed, or the field, kind and "open only" filters cleared), and the
    /// status line says so.
    fn review_issue(&mut self, id: &str) {
        let Some(item) = self
            .rt
            .session
            .as_ref()
            .and_then(|s| s.issues.as_ref())
            .and_then(|issues| issues.items.iter().find(|i| i.issue_id == id))
            .cloned()
        else {
            self.rt.error(format!("No issue {id} in the run on screen"));
            return;
        };
        let position = |app: &mut Self| {
            let filter = app.state.queue_filter.clone();
            let list = app.rt.queue(&filter).to_vec();
            let issues = app.rt.session.as_ref()?.issues.as_ref()?;
            list.iter().position(|&i| issues.items[i].issue_id == id)
        };
        let mut pos = position(self);
        if pos.is_none() && item.tier == crate::issues::Tier::Possible {
            self.state.queue_filter.show_possible = true;
            pos = position(self);
            self.rt.notify(POSSIBLE_LISTED);
        }
        if pos.is_none() {
            self.state.queue_filter = super::state::QueueFilter {
                show_possible: true,
                ..Default::default()
            };
            pos = position(self);
            self.rt
                .notify("The queue's filters hid this issue: they are cleared");
        }
        self.apply(Command::Show(View::Review));
        if let Some(pos) = pos {
            self.select_queue_item(pos);
            self.rt.scroll_to_selected = true;
        }
    }

    /// After `decided` was settled: selects the next open item below the current one, else
    /// the first open one above it (the annotator never has to hunt for what is left);
    /// when none is open, the next one marked needs review (the annotator's "come back
    /// later"), never `decided` itself; else stays. With "open only" `decided` has left
    /// the list, and the item after it now sits at its position.
    fn move_to_next_open(&mut self, decided: &QueueItem) -> NextItem {
        let filter = self.state.queue_filter.clone();
        let pos = self.rt.queue_pos;
        let Some(session) = self.rt.session.as_ref() else {
            return NextItem::NoneLeft { needs_review: 0 };
        };
        let Some(issues) = session.issues.as_ref() else {
            return NextItem::NoneLeft { needs_review: 0 };
        };
        // Computed before `queue` borrows the runtime mutably.
        let status: Vec<ItemStatus> = issues
            .items
            .iter()
            .map(|it| session.item_status(it))
            .collect();
        let ids: Vec<String> = issues.items.iter().map(|i| i.issue_id.clone()).collect();
        let list = self.rt.queue(&filter).to_vec();
        let still_listed = list.get(pos).is_some_and(|&i| ids[i] == decided.issue_id);
        let start = if still_listed { pos + 1 } else { pos };
        let after = |wanted: ItemStatus| {
            (start..list.len())
                .chain(0..start.min(list.len()))
                .find(|&i| status[list[i]] == wanted && ids[list[i]] != decided.issue_id)
        };
        if let Some(i) = after(ItemStatus::Open) {
            self.select_queue_item(i);
            return NextItem::Open;
        }
        // No open item left: the marked ones, counted whether or not "Open only" lists
        // them (another ordering of the queue, so only now).
        let unfiltered = QueueFilter {
            open_only: false,
            ..filter
        };
        let needs_review = self
            .rt
            .queue(&unfiltered)
            .iter()
            .filter(|&&i| status[i] == ItemStatus::NeedsReview)
            .count();
        if let Some(i) = after(ItemStatus::NeedsReview) {
            self.select_queue_item(i);
            return NextItem::NeedsReview(needs_review);
        }
        self.select_queue_item(pos);
        NextItem::NoneLeft { needs_review }
    }

    /// The review item a label edit on (field, person, slot) answers, when it is the one on
    /// screen.
    fn item_answered_by(&mut self, field: Field, person: usize, slot: Slot) -> Option<QueueItem> {
        if self.state.view != View::Review {
            return None;
        }
        self.current_item().filter(|it| {
            it.field == field
                && it.person == person
                && (field != Field::Mask
                    || it.slot == Some(slot)
                    || it.pair.as_ref().is_some_and(|p| p.slot == slot))
        })
    }

    /// A label edit from a key or a button. On the review item it answers, setting the label
    /// the dataset gave records "keep" (the annotator says the given label is right).
    fn edit_label(
        &mut self,
        field: Field,
        person: usize,
        slot: Slot,
        value: usize,
        years: Option<u32>,
    ) {
        let Some(session) = self.rt.session.as_ref() else {
            self.rt.notify("Open a dataset first");
            return;
        };
        if person >= session.dataset.people.len() {
            return;
        }
        let folder = session.folder(person).to_string();
        let item = self.item_answered_by(field, person, slot);
        let Some(session) = self.rt.session.as_ref() else {
            return;
        };
        let now = session.value(field, person, slot);
        let now_years = session.age_years(person);
        let unchanged = match years {
            Some(y) => y == now_years,
            None => value == now,
        };
        if let Some(item) = &item {
            let given = if field == Field::Mask && Some(slot) != item.slot {
                item.pair.as_ref().map_or(item.given, |p| p.given)
            } else {
                item.given
            };
            if unchanged && value == given {
                self.decide(item.clone(), crate::curation::ReviewDecision::Keep);
                return;
            }
        }
        let place = match field {
            Field::Mask => format!("{folder} {}", slot.stem()),
            Field::Gender | Field::Age => folder.clone(),
        };
        if unchanged {
            let shown =
                years.map_or_else(|| field.class_name(value).to_string(), |y| y.to_string());
            self.rt.notify(format!(
                "{place}: {} is already {shown}; nothing changed",
                field.name()
            ));
            return;
        }
        let (from, to, result) = match (field, years) {
            (Field::Mask, _) => {
                let mask = Mask::from_index(value).unwrap_or(Mask::Wear);
                let r = self.with_session(|s| s.set_mask(person, slot, mask, "set by hand"));
                (
                    field.class_name(now).to_string(),
                    mask.name().to_string(),
                    r,
                )
            }
            (Field::Gender, _) => {
                let gender = Gender::from_index(value).unwrap_or(Gender::Male);
                let r = self.with_session(|s| s.set_gender(person, gender, "set by hand"));
                (
                    field.class_name(now).to_string(),
                    gender.name().to_string(),
                    r,
                )
            }
            (Field::Age, Some(years)) => {
                let r = self.with_session(|s| s.set_age_years(person, years, "set by hand"));
                (now_years.to_string(), years.to_string(), r)
            }
            (Field::Age, None) => {
                let bin = AgeBin::from_index(value).unwrap_or(AgeBin::Middle);
                let years = crate::workbench::session::nearest_age_in_bin(now_years, bin);
                let r =
                    self.with_session(|s| s.set_age_years(person, years, "age bin set by hand"));
                (
                    now_years.to_string(),
                    format!("{years} ({})", bin.name()),
                    r,
                )
            }
        };
        let what = match field {
            Field::Mask => format!("{place}: mask {from} -> {to}"),
            Field::Gender => format!("{place}: gender {from} -> {to} (all photos)"),
            Field::Age => format!("{place}: age {from} -> {to}"),
        };
        let saved = result.is_ok();
        self.after_edit(result, item, what);
        // Judged on the label now set (after the edit, as the session holds it).
        let doubt = match (saved, self.rt.session.as_ref()) {
            (true, Some(s)) => s.model_doubts(field, person, slot),
            _ => None,
        };
        if let Some(doubt) = doubt {
            if let Some(notice) = self.rt.notice.as_mut() {
                notice
                    .text
                    .push_str(&format!(". Check: {doubt} (Ctrl+Z undoes)"));
            }
        }
    }

    fn decide(&mut self, item: QueueItem, decision: crate::curation::ReviewDecision) {
        use crate::curation::ReviewDecision;
        let r = self.with_session(|s| s.decide(&item, decision));
        let folder = self
            .rt
            .session
            .as_ref()
            .map(|s| s.folder(item.person).to_string())
            .unwrap_or_default();
        let place = match item.photos_text() {
            Some(photos) => format!("{folder} {photos}"),
            None => folder,
        };
        // An issue judged in years is kept and accepted in years ("kept age 26", not "<30").
        let field = item.field.name();
        let what = match decision {
            ReviewDecision::Keep => format!("{place}: kept {field} {}", item.given_text()),
            ReviewDecision::Accepted => {
                format!("{place}: {field} {} (accepted)", item.change_text())
            }
            ReviewDecision::NeedsReview => {
                format!("{place}: {} marked as needs review", item.field.name())
            }
        };
        self.after_edit(r, Some(item), what);
    }

    /// Records whether two ids are one person, and says so, with the labels that disagree.
    fn decide_identity(
        &mut self,
        person: usize,
        other: Option<usize>,
        decision: crate::curation::IdentityDecision,
    ) {
        let Some(session) = self.rt.session.as_ref() else {
            return self.rt.notify("Open a dataset first");
        };
        let other = other.or_else(|| session.identity_keyed_candidate(person));
        let Some(other) = other else {
            let folder = session.folder(person).to_string();
            return self.rt.notify(format!(
                "{folder}: no look-alike or shared photo to decide on (S / D act on those)"
            ));
        };
        let what = format!(
            "{} and {}: {}",
            session.folder(person),
            session.folder(other),
            decision.name()
        );
        let r = self.with_session(|s| s.decide_identity(person, other, decision));
        let conflict = self.rt.session.as_ref().and_then(|s| {
            let c = s.identity_conflict_of(person)?;
            Some(crate::workbench::queries::describe_identity_conflict(s, &c))
        });
        let what = match conflict {
            Some(c) => format!("{what} ({c})"),
            None => what,
        };
        self.after_edit(r, None, what);
    }

    /// Goes to what an undo or redo changed, and says what that was.
    fn after_history_step(&mut self, verb: &str, result: Result<Vec<JournalEntry>, String>) {
        let entries = match result {
            Ok(entries) => entries,
            Err(e) => return self.rt.error(e),
        };
        if entries.is_empty() {
            return self
                .rt
                .notify(format!("Nothing to {}", verb.to_lowercase()));
        }
        let Some(session) = self.rt.session.as_ref() else {
            return;
        };
        let text: Vec<String> = entries.iter().map(|e| describe_entry(session, e)).collect();
        let person = entries
            .iter()
            .find_map(|e| e.target.person_folder())
            .and_then(|f| session.dataset.person_index(f));
        if self.state.view == View::Review {
            let filter = self.state.queue_filter.clone();
            let list = self.rt.queue(&filter).to_vec();
            let found = self.rt.session.as_ref().and_then(|s| {
                let items = &s.issues.as_ref()?.items;
                // An issue decision names its item; a label change, the item about it.
                entries
                    .iter()
                    .find_map(|e| {
                        list.iter()
                            .position(|&i| entry_is_decision_on(e, &items[i]))
                    })
                    .or_else(|| {
                        entries.iter().find_map(|e| {
                            list.iter().position(|&i| entry_concerns(s, e, &items[i]))
                        })
                    })
            });
            if let Some(pos) = found {
                self.select_queue_item(pos);
                self.rt.scroll_to_selected = true;
            }
        } else if let Some(p) = person {
            self.rt.selected_person = Some(p);
            self.rt.scroll_to_selected = true;
        }
        self.rt
            .notify(format!("{verb}: {} — saved", text.join("; ")));
    }

    /// Runs one command. The single place where app state changes.
    pub fn apply(&mut self, cmd: Command) {
        match cmd {
            Command::OpenDataset(dir) => {
                self.rt.open_error = None;
                self.rt.opening = Some(dir.clone());
                let run = self.remembered_run(&dir);
                self.rt.jobs.open(dir, false, run);
            }
            Command::OpenDemo => {
                let dir = self.rt.options.demo_dir.clone();
                self.rt.path_text = dir.display().to_string();
                self.rt.open_error = None;
                self.rt.opening = Some(dir.clone());
                let run = self.remembered_run(&dir);
                self.rt.jobs.open(dir, true, run);
            }
            Command::Browse => {
                let start = Some(PathBuf::from(self.rt.path_text.trim()))
                    .filter(|p| !p.as_os_str().is_empty());
                self.rt.jobs.browse(start);
            }
            Command::CloseDataset => {
                self.stop_photo_check();
                self.store_dataset_prefs();
                self.rt.dataset_key = None;
                self.rt.session = None;
                {
                    self.rt.train_panel = None;
                }
                self.rt.thumbs = None;
                self.rt.photos = None;
                self.rt.shown_item = None;
                self.rt.runs.clear();
                self.rt.pending_run = None;
                self.rt.invalidate();
            }
            Command::ForgetRecent(dir) => self.state.recent.retain(|p| *p != dir),
            Command::Show(view) => {
                self.state.view = view;
                self.rt.photo_viewer = false;
                if view == View::People {
                    self.rt.scroll_to_selected = true;
                }
                if view == View::Review {
                    let pos = self.rt.queue_pos;
                    self.select_queue_item(pos);
                    self.rt.scroll_to_selected = true;
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
                    // Nothing selected in this list yet: the first key picks an end.
                    None if step < 0 => list.len() - 1,
                    None => 0,
                };
                self.rt.selected_person = Some(list[next]);
                self.rt.scroll_to_selected = true;
            }
            Command::QueueGo(pos) => {
                self.select_queue_item(pos);
                self.rt.scroll_to_selected = true;
            }
            Command::QueueStep(step) => {
                let pos = (self.rt.queue_pos as i64 + step as i64).max(0) as usize;
                self.select_queue_item(pos);
                self.rt.scroll_to_selected = true;
            }
            Command::ClearQueueFilters => {
                self.state.queue_filter = super::state::QueueFilter::default();
                self.select_queue_item(0);
            }
            Command::ReviewIssue(id) => self.review_issue(&id),
            Command::ShowPeopleOnly { people, name } => {
                self.state.people_filter = PeopleFilter {
                    only_people: Some(people),
                    only_people_name: name,
                    ..PeopleFilter::default()
                };
                self.apply(Command::Show(View::People));
            }
            Command::SetMask { person, slot, mask } => {
                self.edit_label(Field::Mask, person, slot, mask.index(), None)
            }
            Command::SetGender { person, gender } => {
                self.edit_label(Field::Gender, person, Slot::Mask1, gender.index(), None)
            }
            Command::SetAgeYears { person, years } => {
                let bin = AgeBin::from_years(years).index();
                self.edit_label(Field::Age, person, Slot::Mask1, bin, Some(years))
            }
            Command::SetAgeBin { person, bin } => {
                self.edit_label(Field::Age, person, Slot::Mask1, bin.index(), None)
            }
            Command::SetNote { person, text } => {
                let Some(session) = self.rt.session.as_ref() else {
                    return self.rt.notify("Open a dataset first");
                };
                let folder = session.folder(person).to_string();
                let what = if text.trim().is_empty() {
                    format!("{folder}: note removed")
                } else {
                    format!("{folder}: note {:?}", text.trim())
                };
                // A note is not a decision: the queue stays on the item.
                let r = self.with_session(|s| s.set_note(person, &text));
                self.after_edit(r, None, what);
            }
            Command::DecideIdentity {
                person,
                other,
                decision,
            } => self.decide_identity(person, other, decision),
            Command::CopyLabelsToSamePerson(from) => {
                let Some(session) = self.rt.session.as_ref() else {
                    return self.rt.notify("Open a dataset first");
                };
                let what = format!(
                    "{}'s labels ({}, {}) given to its other ids",
                    session.folder(from),
                    session.gender(from).name(),
                    session.age_years(from)
                );
                let r = self.with_session(|s| s.copy_labels_to_same_person(from));
                match r {
                    Ok(0) => self
                        .rt
                        .notify("Their labels already agree; nothing changed"),
                    Ok(n) => self.after_edit(Ok(()), None, format!("{what} ({n} changed)")),
                    Err(e) => self.after_edit(Err(e), None, what),
                }
            }
            Command::Decide(decision) => {
                let Some(item) = self.current_item() else {
                    self.rt.notify("No issue on screen: nothing to decide");
                    return;
                };
                self.decide(item, decision);
            }
            Command::Undo => {
                let r = self.with_session(|s| s.undo());
                self.after_history_step("Undone", r);
            }
            Command::Redo => {
                let r = self.with_session(|s| s.redo());
                self.after_history_step("Redone", r);
            }
            Command::Export => match self.rt.session.as_ref().map(|s| s.prepare_export()) {
                Some(Ok((prepared, dir))) => self.rt.jobs.export(prepared, dir),
                Some(Err(e)) => self.rt.error(e.to_string()),
                None => self.rt.notify("Open a dataset first"),
            },
            Command::ToggleHelp => self.rt.show_help = !self.rt.show_help,
            Command::ToggleTrainPanel => self.state.show_train_panel = !self.state.show_train_panel,
            Command::ReloadRun => self.check_for_new_run(),
            Command::UseRun(id) => {
                self.rt.pending_run = None;
                let Some(session) = self.rt.session.as_ref() else {
                    return;
                };
                self.rt.runs = session.finished_runs();
                match self.rt.runs.iter().find(|r| r.id == id).cloned() {
                    Some(run) => {
                        let labels = session.run_labels(&run);
                        self.rt.jobs.load_run(session.dataset.clone(), run, labels);
                    }
                    None => self
                        .rt
                        .error(format!("Run {id} is not a finished run of this dataset")),
                }
            }
            Command::KeepCurrentRun => {
                if let Some(run) = self.rt.pending_run.take() {
                    self.rt.notify(format!(
                        "The queue stays on its run; {} can be chosen in the run picker",
                        run.id
                    ));
                }
            }
            Command::Zoom(f) => {
                if self.state.view == View::People {
                    self.state.thumb_height = (self.state.thumb_height * f).clamp(40.0, 200.0);
                } else {
                    let shown = self.rt.shown_photo_height;
                    if shown > 0.0 && shown < self.state.photo_height {
                        self.state.photo_height = shown;
                    }
                    self.state.zoom(f);
                }
            }
            Command::FocusSearch => {
                self.state.view = View::People;
                self.rt.focus_search = true;
            }
            // The field is under the large photo: it closes, so what is typed shows.
            Command::FocusAgeField => {
                self.rt.photo_viewer = false;
                self.rt.focus_age = true;
            }
            Command::FocusNoteField => {
                self.rt.photo_viewer = false;
                self.rt.focus_note = true;
            }
            Command::Escape => {
                self.rt.show_help = false;
                self.rt.photo_viewer = false;
            }
            Command::PhotoViewer(open) => self.rt.photo_viewer = open,
            Command::TogglePossible => {
                let shown = !self.state.queue_filter.show_possible;
                self.state.queue_filter.show_possible = shown;
                // The item on screen stays where it is listed still (the position follows
                // it); a possible item just hidden gives way to the one now at its place.
                self.anchor_queue_position();
                let on_screen = self.current_item().map(|i| i.issue_id);
                if on_screen.is_none() || on_screen != self.rt.shown_item {
                    self.select_queue_item(self.rt.queue_pos);
                }
                self.rt.notify(if shown {
                    POSSIBLE_LISTED
                } else {
                    "The queue lists the likely items only (P adds the possible ones)"
                });
            }
            Command::Say(text) => self.rt.notify(text),
            Command::Warn(text) => self.rt.error(text),
        }
    }

    /// The run remembered for a dataset folder, if the annotator picked one.
    fn remembered_run(&self, dir: &std::path::Path) -> Option<String> {
        self.state
            .datasets
            .get(&dataset_key(dir))
            .and_then(|p| p.run.clone())
    }

    /// After training: the newest finished run replaces the queue's, unless it scores
    /// below it, in which case the app asks first.
    fn check_for_new_run(&mut self) {
        let Some(session) = self.rt.session.as_ref() else {
            return;
        };
        self.rt.runs = session.finished_runs();
        let Some(newest) = self.rt.runs.first().cloned() else {
            self.rt.notify("No finished run yet");
            return;
        };
        let current = session.probs.as_ref();
        if current.is_some_and(|c| c.run_id == newest.id) {
            self.rt.notify(format!(
                "The queue already shows the newest run, {}",
                newest.id
            ));
            return;
        }
        let worse = match (current.and_then(|c| c.macro_f1), newest.macro_f1) {
            (Some(now), Some(new)) => new < now,
            _ => false,
        };
        if worse {
            self.rt.pending_run = Some(newest);
        } else {
            self.apply(Command::UseRun(newest.id));
        }
    }

    fn with_session<T>(
        &mut self,
        f: impl FnOnce(&mut Session) -> Result<T, SessionError>,
    ) -> Result<T, String> {
        match self.rt.session.as_mut() {
            Some(s) => {
                // The status line shows the error's text.
                let r = f(s).map_err(|e| e.to_string());
                self.rt.invalidate();
                self.rt.age_text_person = None;
                self.rt.note_text_person = None;
                r
            }
            None => Err("Open a dataset first".into()),
        }
    }

    /// After an edit: report, and in the review queue move on when the edit settled the
    /// item on screen (a decision, or a fix of its label; a swapped pair once both photos
    /// are fixed).
    fn after_edit(&mut self, result: Result<(), String>, item: Option<QueueItem>, what: String) {
        match result {
            Ok(()) => {
                let mut notice = format!("{what} — saved");
                if let Some(item) = item.filter(|_| self.state.view == View::Review) {
                    let settled = self.rt.session.as_ref().is_some_and(|s| {
                        s.item_status(&item) != ItemStatus::Open
                            && item.pair.as_ref().is_none_or(|pair| {
                                s.item_status(&item) != ItemStatus::Fixed
                                    || s.value(item.field, item.person, pair.slot) != pair.given
                            })
                    });
                    if settled {
                        let open_only = self.state.queue_filter.open_only;
                        let next = self.move_to_next_open(&item);
                        match next {
                            NextItem::Open => {}
                            NextItem::NeedsReview(n) => notice.push_str(&format!(
                                ". No open issue left: now the {n} marked needs review"
                            )),
                            NextItem::NoneLeft { needs_review: 0 } => {
                                notice.push_str(". Every issue in this queue has been reviewed")
                            }
                            NextItem::NoneLeft { needs_review } => notice.push_str(&format!(
                                ". No open issue left; {needs_review} marked needs review{}",
                                if open_only {
                                    " (Open only hides them)"
                                } else {
                                    ""
                                }
                            )),
                        }
                        // The likely tier done, the possible one is the next place to look.
                        let hidden = self.open_possible_hidden();
                        if matches!(next, NextItem::NoneLeft { .. }) && hidden > 0 {
                            notice.push_str(&format!(". P lists the {hidden} open possible items"));
                        }
                    }
                }
                self.rt.notify(notice);
            }
            Err(e) => self.rt.error(e),
        }
    }

    /// Keys act one at a time, each on the state the previous one left, before the frame is
    /// drawn. When a key moved the review queue to another item, the label keys after it in
    /// the same frame are dropped: the annotator has not seen that item yet.
    fn handle_keys(&mut self, ctx: &egui::Context) {
        // An open popup (a dropdown) owns the keyboard: Esc closes it, nothing reaches the
        // labels.
        if egui::Popup::is_any_open(ctx) {
            if ctx.input(|i| i.key_pressed(egui::Key::Escape)) {
                egui::Popup::close_all(ctx);
            }
            return;
        }
        let shown_before = self.rt.shown_item.clone();
        let mut dropped = 0;
        self.rt.text_cancelled = false;
        for action in keys::take_actions(ctx) {
            // egui itself takes the focus from a text field on Esc, before this runs.
            if action == keys::KeyAction::Escape {
                self.rt.text_cancelled = true;
            }
            if action == keys::KeyAction::Escape && ctx.text_edit_focused() {
                ctx.memory_mut(|m| {
                    if let Some(id) = m.focused() {
                        m.surrender_focus(id);
                    }
                });
                continue;
            }
            self.sync_selection();
            if action.edits_labels() && self.rt.shown_item != shown_before {
                dropped += 1;
                continue;
            }
            if let Some(cmd) = command_for_key(self, action) {
                self.apply(cmd);
            }
        }
        self.sync_selection();
        if dropped > 0 {
            self.rt.notify(format!(
                "{dropped} key(s) ignored: pressed before the next item was on screen"
            ));
        }
    }
}

/// The canonical form of a dataset folder, the key of its remembered state.
fn dataset_key(dir: &std::path::Path) -> PathBuf {
    std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf())
}

/// True when a journal line is the decision on `item`.
fn entry_is_decision_on(entry: &JournalEntry, item: &QueueItem) -> bool {
    matches!(&entry.target, crate::curation::Target::Issue { id } if *id == item.issue_id)
}

/// True when a journal line is about `item`: its decision, or a change of its label.
fn entry_concerns(session: &Session, entry: &JournalEntry, item: &QueueItem) -> bool {
    use crate::curation::{JournalField, Target};
    if entry_is_decision_on(entry, item) {
        return true;
    }
    let person = |folder: &str| session.dataset.person_index(folder) == Some(item.person);
    match (&entry.target, entry.field) {
        (Target::Photo { person: f, slot }, JournalField::Mask) => {
            item.field == Field::Mask
                && person(f)
                && (item.slot == Some(*slot) || item.pair.as_ref().is_some_and(|p| p.slot == *slot))
        }
        (Target::Person { person: f }, JournalField::Gender) => {
            item.field == Field::Gender && person(f)
        }
        (Target::Person { person: f }, JournalField::Age) => item.field == Field::Age && person(f),
        _ => false,
    }
}

/// A journal line in words: `000072_female_Asian_45 normal: mask not_wear -> incorrect`.
fn describe_entry(session: &Session, entry: &JournalEntry) -> String {
    use crate::curation::Target;
    let show = |v: &crate::curation::Value| match v {
        crate::curation::Value::Note(Some(text)) => format!("{text:?}"),
        crate::curation::Value::Note(None) => "no note".to_string(),
        _ => {
            let t = v.token();
            if t.is_empty() {
                "no decision".to_string()
            } else {
                t.replace('_', " ")
            }
        }
    };
    let place = match &entry.target {
        Target::Photo { person, slot } => format!("{person} {}", slot.stem()),
        Target::Person { person } => person.clone(),
        Target::Issue { id } => {
            if let Some((a, b)) = crate::curation::identity::parse_same_person_issue_id(id) {
                let decision = |v: &crate::curation::Value| match v {
                    crate::curation::Value::Review(Some(d)) => {
                        crate::curation::IdentityDecision::from_review(*d).name()
                    }
                    _ => "no decision",
                };
                return format!(
                    "{a} and {b}: {} -> {}",
                    decision(&entry.old),
                    decision(&entry.new)
                );
            }
            // Issue ids are `field:folder[/stem]`: name the person, then the field.
            let (field, rest) = id.split_once(':').unwrap_or(("issue", id));
            let _ = session;
            format!("{} ({field} issue)", rest.replace('/', " "))
        }
    };
    format!(
        "{place}: {} {} -> {}",
        entry.field.name(),
        show(&entry.old),
        show(&entry.new)
    )
}

impl eframe::App for MaskCuratorApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.poll_jobs();
        let ctx = ui.ctx().clone();
        self.sync_selection();
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
        self.sync_selection();
        if self.rt.jobs.is_busy() {
            // Keeps the spinner moving; job results also wake the UI themselves.
            ctx.request_repaint_after(std::time::Duration::from_millis(100));
        }
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        if self.rt.options.use_storage {
            self.store_dataset_prefs();
            eframe::set_value(storage, STORAGE_KEY, &self.state);
        }
    }
}
