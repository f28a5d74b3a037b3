use super::*;
use crate::dataset::{Gender, Person, Slot};
use crate::demo::rng::Rng;

const DIM: usize = 16;

/// `n` people; each photo = what all photos share (features of a trained network are
/// mostly positive and alike) + the person's look + its mask status + a little noise.
fn planted(n: usize, seed: u64) -> (Dataset, Vec<PhotoRef>, Vec<f32>) {
    let people: Vec<Person> = (0..n)
        .map(|i| {
            Person::with_all_photos(
                &format!("{:06}", i + 1),
                Gender::ALL[i % 2],
                20 + (i % 40) as u32,
            )
        })
        .collect();
    let ds = Dataset {
        people,
        ..Default::default()
    };
    let mut rng = Rng::new(seed);
    let looks: Vec<Vec<f32>> = (0..n)
        .map(|_| (0..DIM).map(|_| rng.normal(0.0, 1.0)).collect())
        .collect();
    let masks: Vec<Vec<f32>> = (0..3)
        .map(|_| (0..DIM).map(|_| rng.normal(0.0, 1.0)).collect())
        .collect();
    let mut rows = Vec::new();
    let mut data = Vec::new();
    for (p, look) in looks.iter().enumerate() {
        for slot in Slot::ALL {
            rows.push(PhotoRef { person: p, slot });
            let m = &masks[slot.mask().index()];
            data.extend((0..DIM).map(|c| 2.0 + 0.4 * look[c] + 0.6 * m[c] + rng.normal(0.0, 0.2)));
        }
    }
    (ds, rows, data)
}

fn set_row(data: &mut [f32], row: usize, values: &[f32]) {
    data[row * DIM..(row + 1) * DIM].copy_from_slice(values);
}

#[test]
fn a_stray_photo_and_a_duplicated_identity_are_found_and_nothing_else() {
    let (ds, rows, mut data) = planted(300, 11);
    // Person 40's normal photo is of nothing the dataset holds.
    let stray = 40 * 7 + Slot::Normal.index();
    let mut far = vec![-1f32; DIM];
    far[3] = 4.0;
    set_row(&mut data, stray, &far);
    // Person 201 is person 200 again (the same look), with fresh photo noise.
    let mut rng = Rng::new(5);
    for s in 0..7 {
        let copy: Vec<f32> = data[(200 * 7 + s) * DIM..(200 * 7 + s + 1) * DIM]
            .iter()
            .map(|x| x + rng.normal(0.0, 0.2))
            .collect();
        set_row(&mut data, 201 * 7 + s, &copy);
    }
    let emb = Embeddings::new(rows.clone(), DIM, data, Path::new("e.npy")).unwrap();
    let report = analyse(&ds, &emb, "run-x");
    assert_eq!(report.map_kind, MapKind::PrincipalComponents);

    assert_eq!(
        report.outliers.first(),
        Some(&stray),
        "{:?}",
        report.outliers
    );
    assert!(
        report.outliers.len() * 70 <= rows.len(),
        "{:?}",
        report.outliers
    );
    let photo = rows[stray];
    assert_eq!(report.outlier(photo).map(|o| o.0), Some(0));
    assert!(
        report.outlier_score[stray] < 0.1,
        "{}",
        report.outlier_score[stray]
    );
    let typical = crate::stats::median(
        &report
            .outlier_score
            .iter()
            .map(|&s| f64::from(s))
            .collect::<Vec<_>>(),
    )
    .unwrap();
    assert!(
        (typical - (-1f64).exp()).abs() < 1e-3,
        "median score {typical}"
    );

    let pairs: Vec<(usize, usize)> = report.lookalikes.iter().map(|l| (l.a, l.b)).collect();
    assert_eq!(pairs, vec![(200, 201)]);
    assert_eq!(report.lookalike_of(201).map(|l| l.a), Some(200));
    assert!(report.lookalike_of(3).is_none());
    let flagged = report.flagged_people();
    assert!(
        [40, 200, 201].iter().all(|p| flagged.contains(p)),
        "{flagged:?}"
    );
    assert!(report.flags_person(40) && report.flags_person(201));
    assert!(report
        .describe_outlier(photo)
        .is_some_and(|t| t.contains("outlier 1 of")));

    // The map's first axis separates the mask statuses, which dominate these vectors.
    assert_eq!(report.map.len(), rows.len());
    assert!(report.map_explained[0] > report.map_explained[1]);
    assert!(report.map_explained[0] + report.map_explained[1] <= 1.0 + 1e-9);
}

#[test]
fn clean_data_flags_nothing() {
    let (ds, rows, data) = planted(300, 12);
    let emb = Embeddings::new(rows, DIM, data, Path::new("e.npy")).unwrap();
    let report = analyse(&ds, &emb, "clean");
    assert!(report.lookalikes.is_empty(), "{:?}", report.lookalikes);
    // Datalab's fence flags the edge of a cloud too (a photo far from the others is worth
    // a look), but few: well under 2% of the photos, none of them far out.
    assert!(
        report.outliers.len() * 70 <= 300 * 7,
        "{:?}",
        report.outliers
    );
    assert!(report
        .outliers
        .iter()
        .all(|&r| report.outlier_score[r] > 0.05));
}

#[test]
fn bad_files_are_refused_naming_the_file_and_row() {
    let dir = tempfile::tempdir().unwrap();
    let rows: Vec<PhotoRef> = Slot::ALL
        .iter()
        .map(|&slot| PhotoRef { person: 0, slot })
        .collect();
    let path = dir.path().join(FILE_NAME);
    assert_eq!(Embeddings::load_run(dir.path(), &rows).unwrap(), None);

    let mut values = vec![1f32; 7 * 4];
    values[2 * 4 + 1] = f32::NAN;
    crate::arrays::write_npy(&path, &[7, 4], &values).unwrap();
    let err = Embeddings::load(&path, &rows).unwrap_err().to_string();
    assert!(
        err.contains("embeddings.npy") && err.contains("row 2, column 1"),
        "{err}"
    );

    crate::arrays::write_npy(&path, &[6, 4], &[1f32; 24]).unwrap();
    let err = Embeddings::load(&path, &rows).unwrap_err().to_string();
    assert!(err.contains("6 rows") && err.contains("7 photos"), "{err}");

    crate::arrays::write_npy(&path, &[7, 4], &[1i64; 28]).unwrap();
    let err = Embeddings::load(&path, &rows).unwrap_err().to_string();
    assert!(err.contains("float32"), "{err}");

    std::fs::write(&path, b"not an array").unwrap();
    assert!(Embeddings::load(&path, &rows).is_err());

    let mut values = vec![0f32; 7 * 4];
    values[0] = 3.0;
    values[4 + 1] = -2.0;
    crate::arrays::write_npy(&path, &[7, 4], &values).unwrap();
    let e = Embeddings::load_run(dir.path(), &rows).unwrap().unwrap();
    assert_eq!(e.dim, 4);
    assert_eq!(&e.unit[..8], &[1.0, 0.0, 0.0, 0.0, 0.0, -1.0, 0.0, 0.0]);
    // A zero row stays zero rather than dividing by zero.
    assert!(e.unit[8..12].iter().all(|&x| x == 0.0));
    assert_eq!(e.layout, None);

    // The worker's layout comes along when its shape fits; otherwise it names itself.
    let map = dir.path().join(MAP_FILE_NAME);
    let places: Vec<f32> = (0..14).map(|i| i as f32).collect();
    crate::arrays::write_npy(&map, &[7, 2], &places).unwrap();
    let e = Embeddings::load_run(dir.path(), &rows).unwrap().unwrap();
    assert_eq!(e.layout.as_ref().map(|l| l[3]), Some([6.0, 7.0]));
    let ds = Dataset {
        people: vec![Person::with_all_photos("000001", Gender::Male, 30)],
        ..Default::default()
    };
    let report = analyse(&ds, &e, "r");
    assert_eq!(report.map_kind, MapKind::Tsne);
    assert_eq!(report.map[6], [12.0, 13.0]);
    crate::arrays::write_npy(&map, &[7, 3], &[0f32; 21]).unwrap();
    let err = Embeddings::load_run(dir.path(), &rows)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("map.npy") && err.contains("7 photos x 2"),
        "{err}"
    );
    let mut places = places;
    places[5] = f32::NAN;
    crate::arrays::write_npy(&map, &[7, 2], &places).unwrap();
    let err = Embeddings::load_run(dir.path(), &rows)
        .unwrap_err()
        .to_string();
    assert!(err.contains("row 2 holds NaN"), "{err}");
}

#[test]
fn a_layout_of_nothing_is_empty() {
    assert_eq!(tsne_layout(&[], 0, None), Some(Vec::new()));
    assert_eq!(tsne_layout(&[], 8, None), Some(Vec::new()));
}
