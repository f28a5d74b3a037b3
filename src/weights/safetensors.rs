//! The safetensors format (an 8-byte header length, a JSON header, then the raw bytes):
//! what the training worker loads, written here from converted weights, and its header read
//! back to say what an installed file holds.

use super::torch_file::{DType, NamedTensor};
use super::WeightsError;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

/// A header larger than this is not a weights file.
const MAX_HEADER: u64 = 100 << 20;

/// What a safetensors file holds, from its header.
#[derive(Debug, Clone, PartialEq)]
pub struct Header {
    /// Name, element type and shape of each tensor, in the file's order.
    pub tensors: Vec<(String, DType, Vec<usize>)>,
    /// The free-form `__metadata__` strings (where converted weights came from).
    pub metadata: BTreeMap<String, String>,
}

/// The file's bytes: header then data, tensors in the given order.
pub fn encode(tensors: &[NamedTensor], metadata: &BTreeMap<String, String>) -> Vec<u8> {
    let mut header = serde_json::Map::new();
    if !metadata.is_empty() {
        header.insert("__metadata__".into(), serde_json::json!(metadata));
    }
    let mut offset = 0usize;
    for t in tensors {
        let end = offset + t.data.len();
        header.insert(
            t.name.clone(),
            serde_json::json!({ "dtype": t.dtype.name(), "shape": t.shape, "data_offsets": [offset, end] }),
        );
        offset = end;
    }
    let mut json = serde_json::Value::Object(header).to_string().into_bytes();
    // The data starts 8-byte aligned; the format pads the header with spaces.
    while !json.len().is_multiple_of(8) {
        json.push(b' ');
    }
    let mut out = Vec::with_capacity(8 + json.len() + offset);
    out.extend_from_slice(&(json.len() as u64).to_le_bytes());
    out.extend_from_slice(&json);
    for t in tensors {
        out.extend_from_slice(&t.data);
    }
    out
}

/// Writes `tensors` to `path` atomically.
pub fn write(
    path: &Path,
    tensors: &[NamedTensor],
    metadata: &BTreeMap<String, String>,
) -> Result<(), WeightsError> {
    crate::workspace::write_atomic(path, &encode(tensors, metadata)).map_err(|e| {
        WeightsError::File {
            path: path.to_path_buf(),
            message: format!("cannot write: {e}"),
        }
    })
}

/// Reads the header of the safetensors file at `path`, checking that every tensor's bytes
/// lie inside the file.
pub fn read_header(path: &Path) -> Result<Header, WeightsError> {
    let bad = |message: String| WeightsError::File {
        path: path.to_path_buf(),
        message,
    };
    let mut file = std::fs::File::open(path).map_err(|e| bad(e.to_string()))?;
    let file_len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let mut len = [0u8; 8];
    file.read_exact(&mut len)
        .map_err(|_| bad("too short for a safetensors file".into()))?;
    let header_len = u64::from_le_bytes(len);
    if header_len > MAX_HEADER || 8 + header_len > file_len {
        return Err(bad(format!(
            "not a safetensors file (its header would be {header_len} bytes)"
        )));
    }
    let mut json = vec![0u8; header_len as usize];
    file.read_exact(&mut json).map_err(|e| bad(e.to_string()))?;
    let value: serde_json::Value =
        serde_json::from_slice(&json).map_err(|e| bad(format!("its header is not JSON: {e}")))?;
    let serde_json::Value::Object(map) = value else {
        return Err(bad("its header is not a JSON object".into()));
    };
    let data_len = file_len - 8 - header_len;
    let mut header = Header {
        tensors: Vec::new(),
        metadata: BTreeMap::new(),
    };
    for (name, entry) in map {
        if name == "__metadata__" {
            if let serde_json::Value::Object(m) = entry {
                for (k, v) in m {
                    if let serde_json::Value::String(v) = v {
                        header.metadata.insert(k, v);
                    }
                }
            }
            continue;
        }
        let parsed = (|| {
            let dtype = DType::from_name(entry.get("dtype")?.as_str()?)?;
            let shape: Vec<usize> = entry
                .get("shape")?
                .as_array()?
                .iter()
                .map(|d| d.as_u64().map(|d| d as usize))
                .collect::<Option<_>>()?;
            let offsets = entry.get("data_offsets")?.as_array()?;
            let (start, end) = (offsets.first()?.as_u64()?, offsets.get(1)?.as_u64()?);
            let bytes = shape
                .iter()
                .try_fold(dtype.size() as u64, |n, &d| n.checked_mul(d as u64))?;
            (start <= end && end <= data_len && end - start == bytes).then_some((dtype, shape))
        })();
        let (dtype, shape) =
            parsed.ok_or_else(|| bad(format!("tensor {name}: a malformed header entry")))?;
        header.tensors.push((name, dtype, shape));
    }
    Ok(header)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_what_it_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.safetensors");
        let tensors = vec![
            NamedTensor {
                name: "a.weight".into(),
                dtype: DType::F32,
                shape: vec![2, 3],
                data: (0..24).collect(),
            },
            NamedTensor {
                name: "b".into(),
                dtype: DType::I64,
                shape: vec![],
                data: 5i64.to_le_bytes().to_vec(),
            },
        ];
        let meta = BTreeMap::from([("source".to_string(), "test".to_string())]);
        write(&path, &tensors, &meta).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let header_len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
        assert_eq!(header_len % 8, 0);
        assert_eq!(
            &bytes[8 + header_len..8 + header_len + 24],
            &tensors[0].data[..]
        );
        let header = read_header(&path).unwrap();
        let mut names: Vec<_> = header.tensors.iter().map(|t| t.0.as_str()).collect();
        names.sort();
        assert_eq!(names, ["a.weight", "b"]);
        assert_eq!(header.metadata["source"], "test");
    }

    #[test]
    fn a_header_pointing_outside_the_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.safetensors");
        let json = br#"{"a":{"dtype":"F32","shape":[1000],"data_offsets":[0,4000]}}"#;
        let mut bytes = (json.len() as u64).to_le_bytes().to_vec();
        bytes.extend_from_slice(json);
        bytes.extend_from_slice(&[0u8; 16]);
        std::fs::write(&path, &bytes).unwrap();
        let err = read_header(&path).unwrap_err().to_string();
        assert!(
            err.contains("bad.safetensors") && err.contains("tensor a"),
            "{err}"
        );
        std::fs::write(&path, b"\xff\xff\xff\xff\xff\xff\xff\x7f{}").unwrap();
        assert!(read_header(&path).is_err());
    }
}
