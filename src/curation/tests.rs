use super::*;
use crate::dataset::Person;
use std::io::Write;

/// A dataset of `n` people in memory (folders `00000{i}_{gender}_Asian_{age}`), all seven
/// photos present except person 2's mask5.
fn dataset(root: &Path, n: usize) -> Dataset {
    let people = (0..n)
        .map(|i| {
            let gender = if i % 2 == 0 {
                Gender::Female
            } else {
                Gender::Male
            };
            let mut person =
                Person::with_all_photos(&format!("{:06}", i + 1), gender, 20 + 10 * i as u32);
            if i == 2 {
                person.photos[Slot::Mask5.index()] = None;
            }
            person
        })
        .collect();
    Dataset {
        root: root.to_path_buf(),
        people,
        eval: None,
        problems: Vec::new(),
    }
}

struct Fixture {
    dir: tempfile::TempDir,
    ds: Dataset,
    ws: Workspace,
}

fn fixture(n: usize) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let ds = dataset(dir.path(), n);
    let ws = Workspace::for_dataset(dir.path());
    Fixture { dir, ds, ws }
}

impl Fixture {
    fn open(&self) -> (Curation, ReplayReport) {
        Curation::open(&self.ds, &self.ws, "tester").unwrap()
    }
    fn folder(&self, p: usize) -> String {
        self.ds.people[p].folder.clone()
    }
    fn journal(&self) -> String {
        std::fs::read_to_string(self.ws.journal_path()).unwrap()
    }
}

fn gender_edit(f: &Fixture, p: usize, g: Gender) -> Edit {
    Edit::new(Target::person(f.folder(p)), Change::Gender(g))
}

#[test]
fn edits_are_journaled_and_survive_reopen() {
    let f = fixture(4);
    {
        let (mut c, report) = f.open();
        assert!(report.is_clean());
        assert_eq!(report.entries, 0);
        c.apply(gender_edit(&f, 0, Gender::Male).with_reason("issue gender:x"))
            .unwrap();
        c.apply(Edit::new(Target::person(f.folder(1)), Change::AgeYears(61)))
            .unwrap();
        c.apply(Edit::new(
            Target::photo(f.folder(3), Slot::Normal),
            Change::Mask(Mask::Incorrect),
        ))
        .unwrap();
        assert_eq!(c.edits_this_session(), 3);
        assert_eq!(f.journal().lines().count(), 3);
    }
    let (c, report) = f.open();
    assert!(report.is_clean(), "{report:?}");
    assert_eq!(report.entries, 3);
    assert_eq!(c.gender(0), Gender::Male);
    assert_eq!(c.age_years(1), 61);
    assert_eq!(c.age_bin(1), AgeBin::Old);
    assert_eq!(c.mask(3, Slot::Normal), Mask::Incorrect);
    assert_eq!(c.mask(3, Slot::Incorrect), Mask::Incorrect);
    assert_eq!(c.edits_this_session(), 0);
    assert_eq!(c.total_changes(), 3);
    assert!(
        c.is_edited_person(0)
            && c.is_edited_person(1)
            && !c.is_edited_person(2)
            && c.is_edited_person(3)
    );
    assert_eq!(c.history()[0].reason.as_deref(), Some("issue gender:x"));
    assert_eq!(c.history()[0].annotator, "tester");
    assert_eq!(c.history()[0].old, Value::Gender(Gender::Female));
}

#[test]
fn journal_lines_carry_the_documented_fields() {
    let f = fixture(2);
    let (mut c, _) = f.open();
    c.apply(gender_edit(&f, 0, Gender::Male).with_reason("why"))
        .unwrap();
    let line: serde_json::Value =
        serde_json::from_str(f.journal().lines().next().unwrap()).unwrap();
    assert_eq!(line["seq"], 1);
    assert_eq!(line["annotator"], "tester");
    assert_eq!(line["op"], "edit");
    assert_eq!(line["target"], format!("person:{}", f.folder(0)));
    assert_eq!(line["field"], "gender");
    assert_eq!(line["old"], "female");
    assert_eq!(line["new"], "male");
    assert_eq!(line["reason"], "why");
    let time = line["time"].as_str().unwrap();
    assert!(chrono::DateTime::parse_from_rfc3339(time).is_ok(), "{time}");
}

#[test]
fn no_op_edits_are_not_journaled() {
    let f = fixture(2);
    let (mut c, _) = f.open();
    c.apply(gender_edit(&f, 0, Gender::Female)).unwrap();
    c.apply(Edit::new(
        Target::photo(f.folder(1), Slot::Mask1),
        Change::Mask(Mask::Wear),
    ))
    .unwrap();
    assert!(!c.can_undo());
    assert_eq!(c.edits_this_session(), 0);
    assert!(!f.ws.journal_path().exists() || f.journal().is_empty());
}

#[test]
fn gender_and_age_apply_to_every_photo_of_the_person() {
    let f = fixture(2);
    let (mut c, _) = f.open();
    // Aimed at a photo, recorded against the person.
    c.apply(Edit::new(
        Target::photo(f.folder(0), Slot::Mask3),
        Change::Gender(Gender::Male),
    ))
    .unwrap();
    c.apply(Edit::new(
        Target::photo(f.folder(0), Slot::Normal),
        Change::AgeYears(35),
    ))
    .unwrap();
    for slot in Slot::ALL {
        let class = c.class_of(0, slot);
        assert_eq!(class.gender(), Gender::Male);
        assert_eq!(class.age(), AgeBin::Middle);
        assert_eq!(class.mask(), slot.mask());
    }
    assert!(c
        .history()
        .iter()
        .all(|e| e.target == Target::person(f.folder(0))));
}

#[test]
fn invalid_edits_are_refused_and_change_nothing() {
    let f = fixture(3);
    let (mut c, _) = f.open();
    let bad = [
        Edit::new(Target::person(f.folder(0)), Change::Mask(Mask::NotWear)),
        Edit::new(Target::person(f.folder(0)), Change::AgeYears(0)),
        Edit::new(Target::person("nobody"), Change::Gender(Gender::Male)),
        Edit::new(
            Target::photo(f.folder(2), Slot::Mask5),
            Change::Mask(Mask::NotWear),
        ),
        Edit::new(Target::issue("x"), Change::Gender(Gender::Male)),
    ];
    for e in bad {
        assert!(c.apply(e.clone()).is_err(), "{e:?} was accepted");
    }
    // A batch with one bad edit applies none of it.
    let batch = vec![
        gender_edit(&f, 1, Gender::Female),
        Edit::new(Target::person("nobody"), Change::AgeYears(30)),
    ];
    assert!(matches!(
        c.apply_batch(batch, "mixed"),
        Err(CurationError::UnknownPerson(_))
    ));
    assert_eq!(c.gender(1), Gender::Male);
    assert_eq!(c.total_changes(), 0);
    assert!(!c.can_undo());
}

#[test]
fn undo_and_redo_restore_values_and_survive_reopen() {
    let f = fixture(2);
    {
        let (mut c, _) = f.open();
        assert!(!c.undo().unwrap());
        c.apply(gender_edit(&f, 0, Gender::Male)).unwrap();
        c.apply(Edit::new(Target::person(f.folder(0)), Change::AgeYears(59)))
            .unwrap();
        assert!(c.undo().unwrap());
        assert_eq!(c.age_years(0), 20);
        assert!(c.undo().unwrap());
        assert_eq!(c.gender(0), Gender::Female);
        assert!(!c.can_undo());
        assert!(c.redo().unwrap());
        assert_eq!(c.gender(0), Gender::Male);
        assert!(c.can_redo());
    }
    // The undo and redo stacks come back from the journal.
    let (mut c, report) = f.open();
    assert!(report.is_clean(), "{report:?}");
    assert_eq!(c.gender(0), Gender::Male);
    assert_eq!(c.age_years(0), 20);
    assert!(c.can_undo() && c.can_redo());
    assert!(c.redo().unwrap());
    assert_eq!(c.age_years(0), 59);
    assert!(!c.can_redo());
    assert!(c.undo().unwrap());
    assert!(c.undo().unwrap());
    assert!(!c.can_undo());
    assert_eq!((c.gender(0), c.age_years(0)), (Gender::Female, 20));
    assert_eq!(c.total_changes(), 0);
    drop(c);
    let (c, report) = f.open();
    assert!(report.is_clean(), "{report:?}");
    assert_eq!((c.gender(0), c.age_years(0)), (Gender::Female, 20));
    assert!(!c.can_undo() && c.can_redo());
    // Undo lines point at what they take back.
    let undos: Vec<&JournalEntry> = c.history().iter().filter(|e| e.op == Op::Undo).collect();
    assert!(undos.iter().all(|e| e.reverts.is_some()));
}

#[test]
fn a_new_edit_clears_redo() {
    let f = fixture(2);
    let (mut c, _) = f.open();
    c.apply(gender_edit(&f, 0, Gender::Male)).unwrap();
    c.undo().unwrap();
    assert!(c.can_redo());
    c.apply(gender_edit(&f, 1, Gender::Female)).unwrap();
    assert!(!c.can_redo());
    drop(c);
    let (c, _) = f.open();
    assert!(!c.can_redo());
    assert_eq!(c.gender(0), Gender::Female);
    assert_eq!(c.gender(1), Gender::Female);
}

#[test]
fn a_batch_is_one_undo_step() {
    let f = fixture(2);
    let (mut c, _) = f.open();
    let swap = c.swap_masks_edits(1, Slot::Incorrect, Slot::Normal, Some("files swapped"));
    c.apply_batch(swap, "swap incorrect/normal").unwrap();
    assert_eq!(c.mask(1, Slot::Incorrect), Mask::NotWear);
    assert_eq!(c.mask(1, Slot::Normal), Mask::Incorrect);
    assert_eq!(
        c.undo_description().as_deref(),
        Some("swap incorrect/normal")
    );
    assert_eq!(c.edits_this_session(), 1);
    let lines: Vec<JournalEntry> = f
        .journal()
        .lines()
        .map(|l| JournalEntry::parse_line(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert!(lines.iter().all(|e| e.step == 1 && e.step_len == 2));
    assert!(c.undo().unwrap());
    assert_eq!(c.mask(1, Slot::Incorrect), Mask::Incorrect);
    assert_eq!(c.mask(1, Slot::Normal), Mask::NotWear);
    assert!(!c.can_undo());
    assert!(c.redo().unwrap());
    assert_eq!(c.mask(1, Slot::Incorrect), Mask::NotWear);
    drop(c);
    let (c, report) = f.open();
    assert!(report.is_clean(), "{report:?}");
    assert_eq!(report.entries, 6);
    assert_eq!(c.mask(1, Slot::Normal), Mask::Incorrect);
    assert_eq!(c.total_changes(), 2);
}

#[test]
fn a_batch_touching_one_field_twice_undoes_to_the_start() {
    let f = fixture(1);
    let (mut c, _) = f.open();
    let t = Target::person(f.folder(0));
    c.apply_batch(
        vec![
            Edit::new(t.clone(), Change::AgeYears(40)),
            Edit::new(t.clone(), Change::AgeYears(50)),
        ],
        "two steps",
    )
    .unwrap();
    assert_eq!(c.age_years(0), 50);
    c.undo().unwrap();
    assert_eq!(c.age_years(0), 20);
}

#[test]
fn reviews_of_issues_are_recorded_and_undoable() {
    let f = fixture(2);
    let (mut c, _) = f.open();
    let issue = format!("gender:{}", f.folder(0));
    assert_eq!(c.issue_decision(&issue), None);
    c.apply(Edit::new(
        Target::issue(&issue),
        Change::Review(ReviewDecision::Keep),
    ))
    .unwrap();
    c.apply(Edit::new(
        Target::person(f.folder(1)),
        Change::Review(ReviewDecision::NeedsReview),
    ))
    .unwrap();
    assert_eq!(c.issue_decision(&issue), Some(ReviewDecision::Keep));
    assert_eq!(
        c.review(&Target::person(f.folder(1))),
        Some(ReviewDecision::NeedsReview)
    );
    // Reviews are decisions, not label changes.
    assert_eq!(c.total_changes(), 0);
    c.apply(Edit::new(
        Target::issue(&issue),
        Change::Review(ReviewDecision::Accepted),
    ))
    .unwrap();
    drop(c);
    let (mut c, _) = f.open();
    assert_eq!(c.issue_decision(&issue), Some(ReviewDecision::Accepted));
    c.undo().unwrap();
    assert_eq!(c.issue_decision(&issue), Some(ReviewDecision::Keep));
    c.undo().unwrap();
    c.undo().unwrap();
    assert_eq!(c.issue_decision(&issue), None);
    assert_eq!(c.reviews().count(), 0);
}

#[test]
fn curated_class_labels_follow_photo_refs_order() {
    let f = fixture(3);
    let (mut c, _) = f.open();
    c.apply(gender_edit(&f, 1, Gender::Female)).unwrap();
    c.apply(Edit::new(
        Target::photo(f.folder(2), Slot::Normal),
        Change::Mask(Mask::Wear),
    ))
    .unwrap();
    let labels = c.curated_class_labels(&f.ds);
    let refs: Vec<_> = f.ds.photo_refs().collect();
    assert_eq!(labels.len(), refs.len());
    assert_eq!(labels.len(), 20); // person 2 lacks mask5
    for (r, class) in refs.iter().zip(&labels) {
        let given = f.ds.people[r.person].class_of(r.slot);
        let expect_changed = r.person == 1 || (r.person == 2 && r.slot == Slot::Normal);
        assert_eq!(given != *class, expect_changed, "{r:?}");
    }
    let normal_of_2 = refs
        .iter()
        .position(|r| r.person == 2 && r.slot == Slot::Normal)
        .unwrap();
    assert_eq!(
        labels[normal_of_2],
        ClassCode::new(Mask::Wear, Gender::Female, AgeBin::Middle)
    );
}

fn append_raw(f: &Fixture, bytes: &[u8]) {
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(f.ws.journal_path())
        .unwrap();
    file.write_all(bytes).unwrap();
}

#[test]
fn a_torn_last_line_is_skipped_and_the_next_append_starts_a_new_line() {
    let f = fixture(3);
    {
        let (mut c, _) = f.open();
        c.apply(gender_edit(&f, 0, Gender::Male)).unwrap();
        c.apply(gender_edit(&f, 1, Gender::Female)).unwrap();
        c.apply(gender_edit(&f, 2, Gender::Male)).unwrap();
    }
    // Cut the file in the middle of the third line, as a power cut mid-write would.
    let text = f.journal();
    let third = text.lines().nth(2).unwrap();
    let cut = text.len() - third.len() / 2 - 1;
    std::fs::write(f.ws.journal_path(), &text.as_bytes()[..cut]).unwrap();

    let (mut c, report) = f.open();
    assert!(report.torn_tail);
    assert_eq!(report.entries, 2);
    assert_eq!(report.skipped.len(), 1);
    assert_eq!(report.skipped[0].line, 3);
    assert!(
        report.skipped[0].reason.contains("torn"),
        "{}",
        report.skipped[0].reason
    );
    assert_eq!(
        (c.gender(0), c.gender(1), c.gender(2)),
        (Gender::Male, Gender::Female, Gender::Female)
    );
    // Undo history of the surviving edits is intact.
    assert!(c.can_undo());
    c.apply(Edit::new(Target::person(f.folder(2)), Change::AgeYears(44)))
        .unwrap();
    drop(c);

    let text = f.journal();
    let last = text.lines().last().unwrap();
    assert!(
        JournalEntry::parse_line(last).is_ok(),
        "the new entry was glued onto the torn bytes: {last}"
    );
    let (c, report) = f.open();
    assert!(!report.torn_tail);
    assert_eq!(report.entries, 3);
    // The torn bytes are now an ordinary bad line; it stays reported and skipped.
    assert_eq!(report.skipped.len(), 1);
    assert_eq!(report.skipped[0].line, 3);
    assert_eq!(c.age_years(2), 44);
    assert_eq!(c.gender(0), Gender::Male);
    // The torn entry was never confirmed, so its seq is free again.
    assert_eq!(c.history().last().unwrap().seq, 3);
}

#[test]
fn a_complete_last_line_without_newline_is_applied() {
    let f = fixture(2);
    {
        let (mut c, _) = f.open();
        c.apply(gender_edit(&f, 0, Gender::Male)).unwrap();
    }
    let text = f.journal();
    std::fs::write(f.ws.journal_path(), text.trim_end()).unwrap();
    let (mut c, report) = f.open();
    assert!(report.torn_tail && report.skipped.is_empty());
    assert_eq!(c.gender(0), Gender::Male);
    c.apply(gender_edit(&f, 1, Gender::Female)).unwrap();
    drop(c);
    let (c, report) = f.open();
    assert!(report.is_clean(), "{report:?}");
    assert_eq!((c.gender(0), c.gender(1)), (Gender::Male, Gender::Female));
}

#[test]
fn corrupt_and_unknown_lines_in_the_middle_are_reported_and_skipped() {
    let f = fixture(3);
    {
        let (mut c, _) = f.open();
        c.apply(gender_edit(&f, 0, Gender::Male)).unwrap();
    }
    append_raw(&f, b"{\"seq\": 2, garbage\n");
    let ghost = JournalEntry {
        seq: 3,
        time: "2026-11-22T00:00:00.000Z".into(),
        annotator: "x".into(),
        op: Op::Edit,
        step: 3,
        step_len: 1,
        batch: None,
        target: Target::person("999999_male_Asian_30"),
        field: JournalField::Gender,
        old: Value::Gender(Gender::Male),
        new: Value::Gender(Gender::Female),
        reason: None,
        reverts: None,
        reapplies: None,
    };
    append_raw(&f, format!("{}\n\n", ghost.to_line()).as_bytes());
    {
        let (mut c, report) = f.open();
        assert_eq!(report.entries, 1);
        let lines: Vec<usize> = report.skipped.iter().map(|s| s.line).collect();
        assert_eq!(lines, vec![2, 3]);
        assert!(report.skipped[1].reason.contains("999999_male_Asian_30"));
        assert!(!report.torn_tail);
        c.apply(gender_edit(&f, 1, Gender::Female)).unwrap();
        // New entries continue after the highest seq seen, even on a skipped line.
        assert_eq!(c.history().last().unwrap().seq, 4);
    }
    let (c, report) = f.open();
    assert_eq!(report.entries, 2);
    assert_eq!((c.gender(0), c.gender(1)), (Gender::Male, Gender::Female));
}

#[test]
fn a_batch_cut_short_is_dropped_whole() {
    let f = fixture(2);
    {
        let (mut c, _) = f.open();
        c.apply(gender_edit(&f, 0, Gender::Male)).unwrap();
        let swap = c.swap_masks_edits(1, Slot::Incorrect, Slot::Normal, None);
        c.apply_batch(swap, "swap").unwrap();
    }
    // Keep the first line of the two-line batch only, complete with its newline.
    let text = f.journal();
    let keep: Vec<&str> = text.lines().take(2).collect();
    std::fs::write(f.ws.journal_path(), format!("{}\n", keep.join("\n"))).unwrap();
    let (c, report) = f.open();
    assert_eq!(report.entries, 1);
    assert_eq!(report.skipped.len(), 1);
    assert!(
        report.skipped[0].reason.contains("incomplete"),
        "{}",
        report.skipped[0].reason
    );
    assert_eq!(c.mask(1, Slot::Incorrect), Mask::Incorrect);
    assert_eq!(c.mask(1, Slot::Normal), Mask::NotWear);
    assert_eq!(c.gender(0), Gender::Male);
}

#[test]
fn a_second_writer_is_refused_but_a_reader_is_not() {
    let f = fixture(2);
    let (mut c, _) = f.open();
    c.apply(gender_edit(&f, 0, Gender::Male)).unwrap();
    assert!(matches!(
        Curation::open(&f.ds, &f.ws, "other"),
        Err(CurationError::JournalBusy { .. })
    ));
    let (mut reader, report) = Curation::open_read_only(&f.ds, &f.ws).unwrap();
    assert_eq!(report.entries, 1);
    assert_eq!(reader.gender(0), Gender::Male);
    assert!(reader.is_read_only());
    assert!(matches!(
        reader.apply(gender_edit(&f, 1, Gender::Female)),
        Err(CurationError::ReadOnly)
    ));
    drop(c);
    assert!(Curation::open(&f.ds, &f.ws, "other").is_ok());
}

#[test]
fn targets_round_trip_through_text() {
    for t in [
        Target::photo("001498-1_male_Asian_38", Slot::Incorrect),
        Target::person("003397_female_Asian_19"),
        Target::issue("gender:000123_female_Asian_45"),
    ] {
        assert_eq!(t.to_string().parse::<Target>().unwrap(), t);
    }
    assert!("photo:abc/mask9".parse::<Target>().is_err());
    assert!("person:".parse::<Target>().is_err());
    assert!("people:abc".parse::<Target>().is_err());
}

#[test]
fn annotator_defaults_when_empty() {
    let f = fixture(1);
    let (c, _) = Curation::open(&f.ds, &f.ws, "  ").unwrap();
    assert_eq!(c.annotator(), default_annotator());
    assert!(!c.annotator().is_empty());
}

// ----- export ------------------------------------------------------------------------

fn write_train_csv(f: &Fixture) -> String {
    let mut text = String::from("id,gender,race,age,path\r\n");
    for p in &f.ds.people {
        text.push_str(&format!(
            "{},{},Asian,{},{}\r\n",
            p.id,
            p.gender.name(),
            p.age,
            p.folder
        ));
    }
    // A row whose folder is missing passes through unchanged.
    text.push_str("009999,male,Asian,33,009999_male_Asian_33\r\n");
    let path = f.dir.path().join("train/train.csv");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, &text).unwrap();
    text
}

fn read_csv(path: &Path) -> Vec<Vec<String>> {
    let mut r = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_path(path)
        .unwrap();
    r.records()
        .map(|rec| rec.unwrap().iter().map(str::to_string).collect())
        .collect()
}

#[test]
fn export_writes_corrected_train_csv_photo_labels_and_change_log() {
    let f = fixture(3);
    let original = write_train_csv(&f);
    let (mut c, _) = f.open();
    c.apply(gender_edit(&f, 0, Gender::Male).with_reason("issue gender:a, run 1"))
        .unwrap();
    c.apply(Edit::new(Target::person(f.folder(1)), Change::AgeYears(60)))
        .unwrap();
    c.apply(Edit::new(Target::person(f.folder(1)), Change::AgeYears(58)))
        .unwrap();
    let swap = c.swap_masks_edits(2, Slot::Incorrect, Slot::Normal, None);
    c.apply_batch(swap, "swap incorrect/normal").unwrap();
    c.apply(Edit::new(
        Target::issue("age:x"),
        Change::Review(ReviewDecision::Keep),
    ))
    .unwrap();
    // One item left for a second look; another marked, then decided.
    for (id, decision) in [
        ("gender:y", ReviewDecision::NeedsReview),
        ("mask:z:mask1", ReviewDecision::NeedsReview),
        ("mask:z:mask1", ReviewDecision::Keep),
    ] {
        c.apply(Edit::new(Target::issue(id), Change::Review(decision)))
            .unwrap();
    }
    // An edit taken back leaves no net change.
    c.apply(gender_edit(&f, 2, Gender::Male)).unwrap();
    c.undo().unwrap();
    // People 2 and 0 are one person; 1 and 2 are not.
    c.apply(c.identity_edit(2, 0, IdentityDecision::Same))
        .unwrap();
    c.apply(c.identity_edit(1, 2, IdentityDecision::Different))
        .unwrap();

    let out = f.ws.exports_dir();
    let summary = export(&f.ds, &c, &out).unwrap();
    assert_eq!(summary.files.len(), 5);
    // same_person.csv: one row per id of each group, named by its first folder.
    let same = read_csv(&out.join("same_person.csv"));
    assert_eq!(
        same,
        vec![
            ["group", "folder", "gender", "age"]
                .map(String::from)
                .to_vec(),
            vec![f.folder(0), f.folder(0), "male".into(), "20".into()],
            vec![f.folder(0), f.folder(2), "female".into(), "40".into()],
        ]
    );
    assert_eq!(summary.people_changed, 2);
    // Person 0: 7 photos change gender; person 1: 58 stays in 30-59 (class unchanged);
    // person 2: two swapped photos.
    assert_eq!(summary.photos_changed, 9);
    assert_eq!(summary.needs_review, 1);
    assert_eq!(
        summary.describe(),
        "2 people with corrected gender/age, 9 photos with a changed class; \
         1 item is still marked needs review (net_changes.csv lists it)"
    );

    // train.csv: same schema, rows and line endings; only gender/age values change.
    let train = std::fs::read_to_string(out.join("train.csv")).unwrap();
    assert!(train.contains("\r\n"));
    let want: Vec<String> = original
        .lines()
        .map(|l| {
            l.replace(
                &format!("000001,female,Asian,20,{}", f.folder(0)),
                &format!("000001,male,Asian,20,{}", f.folder(0)),
            )
            .replace(
                &format!("000002,male,Asian,30,{}", f.folder(1)),
                &format!("000002,male,Asian,58,{}", f.folder(1)),
            )
        })
        .collect();
    assert_eq!(train.lines().collect::<Vec<_>>(), want);
    // The original is untouched.
    assert_eq!(
        std::fs::read_to_string(f.dir.path().join("train/train.csv")).unwrap(),
        original
    );

    // photo_labels.csv: official codes first.
    let labels = read_csv(&out.join("photo_labels.csv"));
    assert_eq!(
        labels[0][..5],
        ["path", "mask", "gender", "age", "class"].map(String::from)
    );
    assert_eq!(labels.len(), 1 + 20);
    let row = |path: &str| labels.iter().find(|r| r[0] == path).unwrap().clone();
    let p0 = row(&format!("train/images/{}/mask1.jpg", f.folder(0)));
    assert_eq!(p0[1..5], ["0", "0", "0", "0"].map(String::from));
    let p2 = row(&format!("train/images/{}/incorrect_mask.jpg", f.folder(2)));
    // not wear, female, 30-59 => 2*6 + 1*3 + 1 = 16
    assert_eq!(p2[1..5], ["2", "1", "1", "16"].map(String::from));
    assert_eq!(p2[11], "1");
    let p1 = row(&format!("train/images/{}/mask1.jpg", f.folder(1)));
    assert_eq!(p1[9], "58");
    assert_eq!(p1[11], "0");

    // change_log.csv: every entry, with reasons quoted where needed.
    let log = read_csv(&out.join("change_log.csv"));
    assert_eq!(
        log[0][..7],
        [
            "time",
            "annotator",
            "target",
            "field",
            "old",
            "new",
            "reason"
        ]
        .map(String::from)
    );
    assert_eq!(log.len(), 1 + c.history().len());
    assert_eq!(log[1][6], "issue gender:a, run 1");
    // The undo, then the two identity decisions.
    assert_eq!(log[log.len() - 3][8], "undo");
    assert_eq!(log.last().unwrap()[6], "identity: different people");

    // net_changes.csv: net effect only.
    let net = read_csv(&out.join("net_changes.csv"));
    let net_rows: Vec<(String, String, String, String)> = net[1..]
        .iter()
        .map(|r| (r[0].clone(), r[1].clone(), r[2].clone(), r[3].clone()))
        .collect();
    let expect = vec![
        (
            format!("person:{}", f.folder(0)),
            "gender".to_string(),
            "female".to_string(),
            "male".to_string(),
        ),
        (
            format!("person:{}", f.folder(1)),
            "age".to_string(),
            "30".to_string(),
            "58".to_string(),
        ),
        (
            format!("photo:{}/incorrect_mask", f.folder(2)),
            "mask".into(),
            "incorrect".into(),
            "not_wear".into(),
        ),
        (
            format!("photo:{}/normal", f.folder(2)),
            "mask".into(),
            "not_wear".into(),
            "incorrect".into(),
        ),
        (
            "issue:age:x".to_string(),
            "review".into(),
            "".into(),
            "keep".into(),
        ),
        (
            "issue:gender:y".to_string(),
            "review".into(),
            "".into(),
            "needs_review".into(),
        ),
        (
            "issue:mask:z:mask1".to_string(),
            "review".into(),
            "".into(),
            "keep".into(),
        ),
        (
            format!(
                "issue:{}",
                identity::same_person_issue_id(&f.folder(0), &f.folder(2))
            ),
            "review".into(),
            "".into(),
            "accepted".into(),
        ),
        (
            format!(
                "issue:{}",
                identity::same_person_issue_id(&f.folder(1), &f.folder(2))
            ),
            "review".into(),
            "".into(),
            "keep".into(),
        ),
    ];
    let mut got = net_rows.clone();
    got.sort();
    let mut expect_sorted = expect.clone();
    expect_sorted.sort();
    assert_eq!(got, expect_sorted);
}

#[test]
fn export_names_the_file_and_line_of_a_bad_train_csv() {
    let f = fixture(1);
    let path = f.dir.path().join("train/train.csv");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, "id,gender,race,age\n000001,female,Asian,20\n").unwrap();
    let (c, _) = f.open();
    let err = export(&f.ds, &c, &f.dir.path().join("out"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("train.csv") && err.contains("line 1") && err.contains("path"),
        "{err}"
    );
    // A short row passes through; bytes that are not UTF-8 stop the export at their line.
    std::fs::write(
        &path,
        b"ID,Gender,race,age,path\n000001,female,Asian,20,a\n000002,male\n000003,\xff\xfe,Asian,20,b\n",
    )
    .unwrap();
    let err = export(&f.ds, &c, &f.dir.path().join("out"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("line 4"), "{err}");
    assert!(!f.dir.path().join("out/photo_labels.csv").exists());
}

#[test]
fn labels_before_a_time_take_back_later_edits() {
    let f = fixture(3);
    let (mut c, _) = f.open();
    c.apply(gender_edit(&f, 0, Gender::Male)).unwrap();
    c.apply(Edit::new(Target::person(f.folder(1)), Change::AgeYears(61)))
        .unwrap();
    c.apply(Edit::new(
        Target::photo(f.folder(2), Slot::Normal),
        Change::Mask(Mask::Incorrect),
    ))
    .unwrap();
    // A run made before every edit saw the given labels.
    let before = c.issue_labels_before("2000-01-01T00:00:00Z");
    assert_eq!(before.people[0].gender, Gender::Female);
    assert_eq!(before.people[1].age, 30);
    assert_eq!(before.people[2].mask[Slot::Normal.index()], Mask::NotWear);
    // A run made after them (in either time format) saw the curated ones.
    for later in ["2999-01-01T00:00:00Z", "2999-01-01T09:00:00+0900"] {
        let after = c.issue_labels_before(later);
        assert_eq!(after.people[0].gender, Gender::Male, "{later}");
        assert_eq!(after.people[1].age, 61);
        assert_eq!(after.people[2].mask[Slot::Normal.index()], Mask::Incorrect);
    }
    // Unknown time: the current labels.
    assert_eq!(
        c.issue_labels_before("yesterday").people[0].gender,
        Gender::Male
    );
}

/// A journal line for person `p` written by hand (as a damaged or crafted file would hold).
fn raw_line(f: &Fixture, seq: u64, field: &str, old: &str, new: &str) -> String {
    format!(
        r#"{{"seq":{seq},"time":"2026-11-22T00:00:00.000Z","annotator":"x","op":"edit","target":"person:{}","field":"{field}","old":{old},"new":{new},"reason":null,"step":{seq},"step_len":1}}"#,
        f.folder(0)
    )
}

#[test]
fn a_huge_seq_is_refused_and_later_edits_survive_reopen() {
    let f = fixture(3);
    f.ws.ensure().unwrap();
    let huge = raw_line(
        &f,
        18_446_744_073_709_551_612,
        "gender",
        "\"female\"",
        "\"male\"",
    );
    std::fs::write(f.ws.journal_path(), format!("{huge}\n")).unwrap();
    {
        let (mut c, report) = f.open();
        assert_eq!(report.entries, 0);
        assert_eq!(report.skipped.len(), 1, "{report:?}");
        assert_eq!(report.skipped[0].line, 1);
        assert!(
            report.skipped[0].reason.contains("18446744073709551612"),
            "{report:?}"
        );
        // Three edits, the last a batch of two: none may wrap around to seq 0.
        c.apply(gender_edit(&f, 0, Gender::Male)).unwrap();
        c.apply(gender_edit(&f, 1, Gender::Female)).unwrap();
        let swap = c.swap_masks_edits(2, Slot::Incorrect, Slot::Normal, None);
        c.apply_batch(swap, "swap").unwrap();
        let seqs: Vec<u64> = c.history().iter().map(|e| e.seq).collect();
        assert_eq!(seqs, vec![1, 2, 3, 4]);
    }
    let (c, report) = f.open();
    assert_eq!(report.entries, 4, "{report:?}");
    assert_eq!(c.gender(0), Gender::Male);
    assert_eq!(c.gender(1), Gender::Female);
    assert_eq!(c.mask(2, Slot::Normal), Mask::Incorrect);
    assert!(c.can_undo());
}

#[test]
fn seqs_near_the_limit_end_in_a_clear_error_not_a_wrap() {
    let f = fixture(2);
    f.ws.ensure().unwrap();
    let last = raw_line(&f, journal::MAX_SEQ, "gender", "\"female\"", "\"male\"");
    std::fs::write(f.ws.journal_path(), format!("{last}\n")).unwrap();
    let (mut c, report) = f.open();
    assert_eq!(report.entries, 1, "{report:?}");
    let err = c.apply(gender_edit(&f, 1, Gender::Female)).unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(err, CurationError::SeqExhausted { .. }) && text.contains("journal.jsonl"),
        "{text}"
    );
    // Nothing half-applied.
    assert_eq!(c.gender(1), Gender::Male);
}

#[test]
fn replay_refuses_values_an_edit_could_not_set() {
    let f = fixture(2);
    f.ws.ensure().unwrap();
    let lines = [
        raw_line(&f, 1, "age", "20", "4294967295"),
        raw_line(&f, 2, "age", "20", "0"),
        raw_line(&f, 3, "age", "20", "121"),
        raw_line(&f, 4, "gender", "\"female\"", "\"robot\""),
        raw_line(&f, 5, "review", "null", "\"maybe\""),
        raw_line(&f, 6, "age", "20", "-3"),
        raw_line(&f, 7, "age", "20", "44"),
    ];
    std::fs::write(f.ws.journal_path(), lines.join("\n") + "\n").unwrap();
    let (c, report) = f.open();
    let skipped: Vec<usize> = report.skipped.iter().map(|s| s.line).collect();
    assert_eq!(skipped, vec![1, 2, 3, 4, 5, 6], "{report:?}");
    assert!(
        report.skipped[0].reason.contains("4294967295"),
        "{report:?}"
    );
    assert!(report.skipped[0].reason.contains("1..=120"), "{report:?}");
    assert!(report.skipped[3].reason.contains("robot"), "{report:?}");
    assert!(report.skipped[4].reason.contains("maybe"), "{report:?}");
    assert_eq!(report.entries, 1);
    assert_eq!(c.age_years(0), 44);
}

#[test]
fn export_refuses_folders_inside_the_dataset_and_names_the_file() {
    let f = fixture(3);
    let original = write_train_csv(&f);
    let (mut c, _) = f.open();
    c.apply(gender_edit(&f, 0, Gender::Male)).unwrap();
    let root = f.dir.path();
    // Straight onto train/: would replace train/train.csv.
    let err = export(&f.ds, &c, &root.join("train")).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, CurationError::UnsafeExport { .. }), "{text}");
    assert!(
        text.contains("train.csv") && text.contains("a file of the dataset"),
        "{text}"
    );
    // Spelled with `..`, and a new folder inside the dataset: refused too.
    for out in [
        root.join(".mask-curator/../train"),
        root.join("train/images/new-export"),
        root.to_path_buf(),
    ] {
        let err = export(&f.ds, &c, &out).unwrap_err();
        assert!(
            matches!(err, CurationError::UnsafeExport { .. }),
            "{}: {err}",
            out.display()
        );
    }
    assert!(!root.join("train/images/new-export").exists());
    assert_eq!(
        std::fs::read_to_string(root.join("train/train.csv")).unwrap(),
        original
    );
    // The workspace and folders outside the dataset are fine.
    export(&f.ds, &c, &root.join(".mask-curator/exports")).unwrap();
    let outside = tempfile::tempdir().unwrap();
    export(&f.ds, &c, outside.path()).unwrap();
}

#[cfg(unix)]
#[test]
fn export_refuses_a_symlink_onto_a_dataset_file() {
    let f = fixture(2);
    write_train_csv(&f);
    let (c, _) = f.open();
    let outside = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(
        f.dir.path().join("train/train.csv"),
        outside.path().join("train.csv"),
    )
    .unwrap();
    let text = export(&f.ds, &c, outside.path()).unwrap_err().to_string();
    assert!(text.contains("a file of the dataset"), "{text}");
}

#[cfg(unix)]
#[test]
fn a_new_journal_syncs_every_new_folder_on_its_path() {
    let f = fixture(2);
    crate::workspace::synced::take();
    let (mut c, _) = f.open();
    let synced = crate::workspace::synced::take();
    // The dataset root (holds the new .mask-curator) and .mask-curator (holds the new file).
    assert_eq!(
        synced,
        vec![f.dir.path().to_path_buf(), f.ws.dir.clone()],
        "{synced:?}"
    );
    c.apply(gender_edit(&f, 0, Gender::Male)).unwrap();
}

#[test]
fn identity_decisions_are_journaled_undoable_and_group_people() {
    let f = fixture(5);
    {
        let (mut cur, _) = f.open();
        assert!(cur.identities().is_empty());
        cur.apply(cur.identity_edit(3, 1, IdentityDecision::Same))
            .unwrap();
        cur.apply(cur.identity_edit(0, 4, IdentityDecision::Different))
            .unwrap();
        cur.apply(cur.identity_edit(1, 4, IdentityDecision::Same))
            .unwrap();
        assert_eq!(cur.identities().groups(), vec![vec![1, 3, 4]]);
        assert_eq!(
            cur.identity_decision(4, 0),
            Some(IdentityDecision::Different)
        );
        assert_eq!(cur.identity_decision(1, 3), Some(IdentityDecision::Same));
        assert_eq!(cur.identity_decision(2, 3), None);
        cur.undo().unwrap();
        assert_eq!(cur.identities().groups(), vec![vec![1, 3]]);
    }
    // The journal holds the decisions: a reopen finds the same groups, and the pair's id
    // names both folders.
    assert!(f
        .journal()
        .contains(&identity::same_person_issue_id(&f.folder(1), &f.folder(3))));
    let (cur, report) = f.open();
    assert!(report.is_clean(), "{report:?}");
    assert_eq!(cur.identities().groups(), vec![vec![1, 3]]);
    assert_eq!(
        cur.identity_decision(0, 4),
        Some(IdentityDecision::Different)
    );
}

#[test]
fn one_person_filed_twice_with_different_labels_is_a_conflict() {
    let f = fixture(4);
    let (mut cur, _) = f.open();
    // Folders 0 and 2: both female, 20 and 40 years: the age bins differ.
    // Folders 1 and 3: male, 30 and 50: one bin, 20 years apart.
    cur.apply(cur.identity_edit(0, 2, IdentityDecision::Same))
        .unwrap();
    let conflicts = cur.identity_conflicts(&cur.identities());
    assert_eq!(conflicts.len(), 1);
    assert_eq!(conflicts[0].people, vec![0, 2]);
    assert!(conflicts[0].age && !conflicts[0].gender);
    // Labels made to agree: no conflict.
    cur.apply(Edit::new(Target::person(f.folder(2)), Change::AgeYears(22)))
        .unwrap();
    assert!(cur.identity_conflicts(&cur.identities()).is_empty());
    // A gender that differs is one.
    cur.apply(cur.identity_edit(0, 1, IdentityDecision::Same))
        .unwrap();
    let conflicts = cur.identity_conflicts(&cur.identities());
    assert_eq!(conflicts.len(), 1);
    assert_eq!(conflicts[0].people, vec![0, 1, 2]);
    assert!(conflicts[0].gender && conflicts[0].age);
    // Within one bin, years more than AGE_GAP_YEARS apart are one too.
    cur.undo().unwrap();
    cur.apply(cur.identity_edit(1, 3, IdentityDecision::Same))
        .unwrap();
    let conflicts = cur.identity_conflicts(&cur.identities());
    assert_eq!(conflicts.len(), 1);
    assert_eq!(conflicts[0].people, vec![1, 3]);
    assert!(conflicts[0].age && !conflicts[0].gender);
}

fn note_edit(f: &Fixture, p: usize, text: Option<&str>) -> Edit {
    Edit::new(
        Target::person(f.folder(p)),
        Change::Note(text.map(str::to_string)),
    )
}

#[test]
fn a_note_is_journaled_cleaned_undoable_and_survives_reopen() {
    let f = fixture(3);
    {
        let (mut c, _) = f.open();
        // Aimed at a photo, kept on its person; blanks and line breaks become one space.
        c.apply(Edit::new(
            Target::photo(f.folder(1), Slot::Mask3),
            Change::Note(Some("  mask3 shows\n someone   else ".into())),
        ))
        .unwrap();
        assert_eq!(c.note(1), Some("mask3 shows someone else"));
        c.apply(note_edit(&f, 0, Some("age unclear: hair grey, face young")))
            .unwrap();
        assert_eq!(c.notes_count(), 2);
        // The same text again changes nothing; blanks remove the note.
        c.apply(note_edit(&f, 0, Some("age unclear: hair grey, face young")))
            .unwrap();
        assert_eq!(f.journal().lines().count(), 2);
        c.apply(note_edit(&f, 0, Some("   "))).unwrap();
        assert_eq!(c.note(0), None);
        assert_eq!(
            c.undo_description().as_deref(),
            Some(
                format!(
                    "person:{} note: age unclear: hair grey, face young -> ",
                    f.folder(0)
                )
                .as_str()
            )
        );
        c.undo().unwrap();
        assert_eq!(c.note(0), Some("age unclear: hair grey, face young"));
        c.redo().unwrap();
        c.undo().unwrap();
        // Nothing else moved: notes are not labels.
        assert!(!c.is_edited_person(0) && !c.is_edited_person(1));
    }
    let line = f.journal().lines().next().unwrap().to_string();
    let json: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(json["field"], "note");
    assert_eq!(json["target"], format!("person:{}", f.folder(1)));
    assert_eq!(json["old"], serde_json::Value::Null);
    assert_eq!(json["new"], "mask3 shows someone else");
    let (c, report) = f.open();
    assert!(report.is_clean(), "{report:?}");
    assert_eq!(c.note(1), Some("mask3 shows someone else"));
    assert_eq!(
        c.notes(),
        vec![
            (0, "age unclear: hair grey, face young"),
            (1, "mask3 shows someone else")
        ]
    );
    assert!(c.can_redo(), "the last undo is redoable after reopening");
}

#[test]
fn a_note_too_long_or_on_an_issue_is_refused_and_replay_refuses_crafted_ones() {
    let f = fixture(2);
    {
        let (mut c, _) = f.open();
        let long = "x".repeat(NOTE_MAX_CHARS + 1);
        let err = c.apply(note_edit(&f, 0, Some(&long))).unwrap_err();
        assert!(err.to_string().contains("longer than 500"), "{err}");
        let err = c
            .apply(Edit::new(
                Target::issue("gender:x"),
                Change::Note(Some("hm".into())),
            ))
            .unwrap_err();
        assert!(err.to_string().contains("only review decisions"), "{err}");
        assert!(c.history().is_empty());
        assert!(c
            .apply(note_edit(&f, 0, Some(&"y".repeat(NOTE_MAX_CHARS))))
            .is_ok());
    }
    let lines = [
        raw_line(&f, 2, "note", "null", &format!("\"{}\"", "z".repeat(501))),
        raw_line(&f, 3, "note", "null", "\"two\\nlines\""),
        raw_line(&f, 4, "note", "null", "\" padded \""),
        raw_line(&f, 5, "note", "null", "\"\""),
        raw_line(&f, 6, "note", "null", "17"),
        raw_line(&f, 7, "note", "null", "\"fine\""),
    ];
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(f.ws.journal_path())
        .unwrap();
    file.write_all((lines.join("\n") + "\n").as_bytes())
        .unwrap();
    drop(file);
    let (c, report) = f.open();
    let skipped: Vec<usize> = report.skipped.iter().map(|s| s.line).collect();
    assert_eq!(skipped, vec![2, 3, 4, 5, 6], "{report:?}");
    assert!(
        report.skipped[0].reason.contains("longer than 500"),
        "{report:?}"
    );
    assert!(report.skipped[1].reason.contains("one line"), "{report:?}");
    assert_eq!(c.note(0), Some("fine"));
}

#[test]
fn export_lists_notes_in_the_change_log_and_the_net_changes() {
    let f = fixture(3);
    write_train_csv(&f);
    let (mut c, _) = f.open();
    c.apply(note_edit(
        &f,
        1,
        Some("glasses in every photo, \"normal\" too"),
    ))
    .unwrap();
    c.apply(note_edit(&f, 2, Some("left for later"))).unwrap();
    c.apply(note_edit(&f, 2, None)).unwrap();
    let out = f.ws.exports_dir();
    let summary = export(&f.ds, &c, &out).unwrap();
    assert_eq!(
        summary.describe(),
        "0 people with corrected gender/age, 0 photos with a changed class; \
         notes on 1 person (net_changes.csv)"
    );
    let net = read_csv(&out.join("net_changes.csv"));
    let notes: Vec<&Vec<String>> = net.iter().filter(|r| r[1] == "note").collect();
    assert_eq!(notes.len(), 1, "a removed note is no net change: {net:?}");
    assert_eq!(notes[0][0], format!("person:{}", f.folder(1)));
    assert_eq!(notes[0][2], "");
    assert_eq!(notes[0][3], "glasses in every photo, \"normal\" too");
    let log = read_csv(&out.join("change_log.csv"));
    assert_eq!(log.iter().filter(|r| r[3] == "note").count(), 3);
    // The labels themselves are untouched by notes.
    let photos = read_csv(&out.join("photo_labels.csv"));
    assert!(photos.iter().skip(1).all(|r| r[11] == "0"), "{photos:?}");
}

#[test]
fn the_export_summary_takes_its_nouns_number() {
    let one = export::ExportSummary {
        people_changed: 1,
        photos_changed: 1,
        ..Default::default()
    };
    assert_eq!(
        one.describe(),
        "1 person with corrected gender/age, 1 photo with a changed class"
    );
    let many = export::ExportSummary {
        people_changed: 3,
        photos_changed: 21,
        notes: 2,
        ..Default::default()
    };
    assert_eq!(
        many.describe(),
        "3 people with corrected gender/age, 21 photos with a changed class; \
         notes on 2 people (net_changes.csv)"
    );
}
