use super::*;
use std::path::PathBuf;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/weights")
        .join(name)
}

fn f32s(t: &NamedTensor) -> Vec<f32> {
    assert_eq!(t.dtype, DType::F32, "{}", t.name);
    t.data
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

#[test]
fn reads_a_state_dict_saved_by_torch() {
    // Written by torch 2.13's torch.save: an OrderedDict with _metadata, f32, i64 and f16
    // tensors, and a transposed (non-contiguous) view.
    let tensors = read_state_dict(&fixture("small_state_dict.pth")).unwrap();
    let names: Vec<&str> = tensors.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "conv.weight",
            "bn.running_mean",
            "bn.num_batches_tracked",
            "fc.weight",
            "fc.bias"
        ]
    );
    assert_eq!(tensors[0].shape, [2, 3, 2, 2]);
    let conv = f32s(&tensors[0]);
    assert_eq!(conv.len(), 24);
    assert_eq!(conv[5], 5.0 / 8.0);
    assert_eq!(f32s(&tensors[1]), [0.5, -1.25]);
    assert_eq!(tensors[2].dtype, DType::I64);
    assert!(tensors[2].shape.is_empty());
    assert_eq!(tensors[2].data, 7i64.to_le_bytes());
    // The transpose comes out row-major: row i is column i of the saved 3x4 matrix.
    assert_eq!(tensors[3].shape, [4, 3]);
    assert_eq!(
        f32s(&tensors[3]),
        [0., 4., 8., 1., 5., 9., 2., 6., 10., 3., 7., 11.]
    );
    assert_eq!(tensors[4].dtype, DType::F16);
    // 1.5 in IEEE half precision is 0x3E00.
    assert_eq!(&tensors[4].data[..2], &0x3E00u16.to_le_bytes());
}

#[test]
fn unwraps_a_checkpoint() {
    let tensors = read_state_dict(&fixture("wrapped_checkpoint.pth")).unwrap();
    assert_eq!(tensors.len(), 1);
    assert_eq!(tensors[0].name, "w");
    assert_eq!(f32s(&tensors[0]), [1.0; 4]);
}

#[test]
fn refuses_a_pickle_that_would_run_code() {
    let err = read_state_dict(&fixture("calls_os_system.pth"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("calls_os_system.pth"), "{err}");
    assert!(
        err.contains("posix.system") && err.contains("refused"),
        "{err}"
    );
}

#[test]
fn damaged_files_are_errors_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let good = std::fs::read(fixture("small_state_dict.pth")).unwrap();
    // Not a zip, truncated, and the legacy format.
    let cases: [(&str, Vec<u8>, &str); 3] = [
        ("text.pth", b"hello".to_vec(), "zip"),
        ("cut.pth", good[..good.len() / 2].to_vec(), "zip"),
        ("legacy.pth", vec![0x80, 0x02, 0x8a, 0x0a], "legacy"),
    ];
    for (name, bytes, says) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let err = read_state_dict(&path).unwrap_err().to_string();
        assert!(err.contains(name) && err.contains(says), "{err}");
    }
}

#[test]
fn every_truncation_of_the_pickle_is_an_error_not_a_panic() {
    let file = std::fs::File::open(fixture("small_state_dict.pth")).unwrap();
    let mut archive = zip::ZipArchive::new(file).unwrap();
    let pickle = read_entry(&mut archive, "small_state_dict/data.pkl", 1 << 20).unwrap();
    for cut in 0..pickle.len() {
        assert!(Unpickler::new(&pickle[..cut]).run().is_err(), "cut {cut}");
    }
    // Every byte flipped: an error or a value, never a panic.
    for i in 0..pickle.len() {
        let mut bad = pickle.clone();
        bad[i] ^= 0xff;
        let _ = Unpickler::new(&bad).run();
    }
}

#[test]
fn a_view_outside_its_storage_is_refused() {
    let storage = StorageRef {
        dtype: DType::F32,
        key: "0".into(),
        numel: 4,
    };
    let t = TensorRef {
        storage: storage.clone(),
        offset: 2,
        shape: vec![3],
        stride: vec![1],
    };
    assert!(gather(&t, &[0u8; 16])
        .unwrap_err()
        .contains("reaches element 4"));
    let huge = TensorRef {
        storage,
        offset: 0,
        shape: vec![usize::MAX, 2],
        stride: vec![0, 1],
    };
    assert!(gather(&huge, &[0u8; 16]).is_err());
}
