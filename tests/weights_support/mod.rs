//! Shared by the pretrained-weights tests: `torch.save` files written the way PyTorch
//! writes a state dict (an `OrderedDict` pickle and one stored zip entry per storage), a
//! torchvision-shaped resnet18, and a small HTTP server on 127.0.0.1 that serves files
//! with range requests and can misbehave on purpose.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// One tensor to save: name, torch storage class (`FloatStorage`, `LongStorage`), shape,
/// little-endian row-major bytes.
pub struct SaveTensor {
    pub name: String,
    pub storage: &'static str,
    pub shape: Vec<usize>,
    pub data: Vec<u8>,
}

fn unicode(out: &mut Vec<u8>, s: &str) {
    out.push(b'X');
    out.extend_from_slice(&(s.len() as u32).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

fn int(out: &mut Vec<u8>, v: usize) {
    out.push(b'J');
    out.extend_from_slice(&(v as i32).to_le_bytes());
}

fn tuple(out: &mut Vec<u8>, items: &[usize]) {
    out.push(b'(');
    for &i in items {
        int(out, i);
    }
    out.push(b't');
}

/// The pickle `torch.save(state_dict)` writes (protocol 2), without memo entries.
pub fn state_dict_pickle(tensors: &[SaveTensor]) -> Vec<u8> {
    let mut p = vec![0x80, 2];
    p.extend_from_slice(b"ccollections\nOrderedDict\n)R(");
    for (key, t) in tensors.iter().enumerate() {
        unicode(&mut p, &t.name);
        p.extend_from_slice(b"ctorch._utils\n_rebuild_tensor_v2\n(");
        p.push(b'(');
        unicode(&mut p, "storage");
        p.extend_from_slice(format!("ctorch\n{}\n", t.storage).as_bytes());
        unicode(&mut p, &key.to_string());
        unicode(&mut p, "cpu");
        int(&mut p, t.shape.iter().product());
        p.extend_from_slice(b"tQ");
        int(&mut p, 0);
        tuple(&mut p, &t.shape);
        let mut stride = vec![1usize; t.shape.len()];
        for d in (0..t.shape.len().saturating_sub(1)).rev() {
            stride[d] = stride[d + 1] * t.shape[d + 1];
        }
        tuple(&mut p, &stride);
        p.extend_from_slice(b"\x89ccollections\nOrderedDict\n)RtR");
    }
    p.extend_from_slice(b"u.");
    p
}

/// Writes a `torch.save` zip of `pickle` and the tensors' storages.
pub fn write_torch_save_with(path: &Path, pickle: &[u8], tensors: &[SaveTensor]) {
    let file = std::fs::File::create(path).unwrap();
    let mut zip = zip::ZipWriter::new(file);
    let stored =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let name = "archive";
    zip.start_file(format!("{name}/data.pkl"), stored).unwrap();
    zip.write_all(pickle).unwrap();
    zip.start_file(format!("{name}/byteorder"), stored).unwrap();
    zip.write_all(b"little").unwrap();
    for (key, t) in tensors.iter().enumerate() {
        zip.start_file(format!("{name}/data/{key}"), stored)
            .unwrap();
        zip.write_all(&t.data).unwrap();
    }
    zip.start_file(format!("{name}/version"), stored).unwrap();
    zip.write_all(b"3\n").unwrap();
    zip.finish().unwrap();
}

pub fn write_torch_save(path: &Path, tensors: &[SaveTensor]) {
    write_torch_save_with(path, &state_dict_pickle(tensors), tensors);
}

/// Deterministic f32 values (a small linear congruential sequence) as bytes.
pub fn f32_bytes(n: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    let mut out = Vec::with_capacity(n * 4);
    for _ in 0..n {
        x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        let v = (x >> 8) as f32 / (1u32 << 24) as f32 - 0.5;
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

/// torchvision's resnet18 state dict: its names and shapes, made-up values, BatchNorm's
/// step counters and the 1000-class classifier included (11,689,512 parameters).
pub fn resnet18_state_dict() -> Vec<SaveTensor> {
    let mut out = Vec::new();
    let mut seed = 0;
    let mut f = |name: String, shape: Vec<usize>| {
        seed += 1;
        let n = shape.iter().product();
        SaveTensor {
            name,
            storage: "FloatStorage",
            shape,
            data: f32_bytes(n, seed),
        }
    };
    let bn = |out: &mut Vec<SaveTensor>,
              f: &mut dyn FnMut(String, Vec<usize>) -> SaveTensor,
              p: &str,
              c: usize| {
        for part in ["weight", "bias", "running_mean", "running_var"] {
            out.push(f(format!("{p}.{part}"), vec![c]));
        }
        out.push(SaveTensor {
            name: format!("{p}.num_batches_tracked"),
            storage: "LongStorage",
            shape: vec![],
            data: 0i64.to_le_bytes().to_vec(),
        });
    };
    out.push(f("conv1.weight".into(), vec![64, 3, 7, 7]));
    bn(&mut out, &mut f, "bn1", 64);
    let mut inputs = 64;
    for (layer, width) in [64usize, 128, 256, 512].into_iter().enumerate() {
        for block in 0..2 {
            let p = format!("layer{}.{block}", layer + 1);
            let cin = if block == 0 { inputs } else { width };
            out.push(f(format!("{p}.conv1.weight"), vec![width, cin, 3, 3]));
            bn(&mut out, &mut f, &format!("{p}.bn1"), width);
            out.push(f(format!("{p}.conv2.weight"), vec![width, width, 3, 3]));
            bn(&mut out, &mut f, &format!("{p}.bn2"), width);
            if block == 0 && cin != width {
                out.push(f(
                    format!("{p}.downsample.0.weight"),
                    vec![width, cin, 1, 1],
                ));
                bn(&mut out, &mut f, &format!("{p}.downsample.1"), width);
            }
        }
        inputs = width;
    }
    out.push(f("fc.weight".into(), vec![1000, 512]));
    out.push(f("fc.bias".into(), vec![1000]));
    out
}

pub fn sha256_hex(path: &Path) -> String {
    use sha2::Digest;
    let bytes = std::fs::read(path).unwrap();
    sha2::Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// How the server answers a path.
#[derive(Clone)]
pub enum Behaviour {
    /// The file, honouring `Range: bytes=N-`.
    Serve(Arc<Vec<u8>>),
    /// The first request gets the full Content-Length but only this many bytes, then the
    /// connection closes; later requests are served normally (ranges honoured).
    CutOnce(Arc<Vec<u8>>, usize),
    /// Claims this Content-Length, sends a little, closes.
    ClaimsSize(u64),
    /// The first request is sent in 64 KiB pieces with this pause between them (time to
    /// press Cancel); later requests are served normally.
    SlowOnce(Arc<Vec<u8>>, std::time::Duration),
}

/// Each request the server saw: its path and its Range header.
pub type RequestLog = Arc<Mutex<Vec<(String, Option<String>)>>>;

/// A test HTTP server on 127.0.0.1; `requests` logs (path, Range header).
pub struct Server {
    pub base: String,
    pub requests: RequestLog,
}

pub fn serve(routes: Vec<(String, Behaviour)>) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let requests: RequestLog = Default::default();
    let log = requests.clone();
    let routes = Arc::new(Mutex::new(routes));
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            if reader.read_line(&mut line).is_err() {
                continue;
            }
            let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
            let mut range = None;
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                    break;
                }
                if let Some((k, v)) = h.split_once(':') {
                    if k.eq_ignore_ascii_case("range") {
                        range = Some(v.trim().to_string());
                    }
                }
            }
            log.lock().unwrap().push((path.clone(), range.clone()));
            let mut routes = routes.lock().unwrap();
            let Some(i) = routes.iter().position(|(p, _)| *p == path) else {
                let _ = stream.write_all(
                    b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                );
                continue;
            };
            let behaviour = routes[i].1.clone();
            let (bytes, cut, pause) = match behaviour {
                Behaviour::Serve(b) => (b, None, None),
                Behaviour::CutOnce(b, at) => {
                    routes[i].1 = Behaviour::Serve(b.clone());
                    (b, Some(at), None)
                }
                Behaviour::SlowOnce(b, pause) => {
                    routes[i].1 = Behaviour::Serve(b.clone());
                    (b, None, Some(pause))
                }
                Behaviour::ClaimsSize(n) => {
                    let _ = stream.write_all(
                        format!(
                            "HTTP/1.1 200 OK\r\nContent-Length: {n}\r\nConnection: close\r\n\r\n"
                        )
                        .as_bytes(),
                    );
                    let _ = stream.write_all(&[0u8; 1024]);
                    continue;
                }
            };
            drop(routes);
            let start = range
                .as_deref()
                .and_then(|r| r.strip_prefix("bytes="))
                .and_then(|r| r.strip_suffix('-'))
                .and_then(|r| r.parse::<usize>().ok());
            let head = match start {
                Some(s) if s < bytes.len() => format!(
                    "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes {s}-{}/{}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    bytes.len() - 1,
                    bytes.len(),
                    bytes.len() - s
                ),
                Some(_) => "HTTP/1.1 416 Range Not Satisfiable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_string(),
                None => format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    bytes.len()
                ),
            };
            let _ = stream.write_all(head.as_bytes());
            if head.contains(" 416 ") {
                continue;
            }
            let from = start.unwrap_or(0);
            let to = cut.map_or(bytes.len(), |c| c.min(bytes.len()));
            match pause {
                None => {
                    let _ = stream.write_all(&bytes[from..to]);
                }
                Some(pause) => {
                    for piece in bytes[from..to].chunks(64 * 1024) {
                        if stream.write_all(piece).is_err() {
                            break;
                        }
                        std::thread::sleep(pause);
                    }
                }
            }
            let _ = stream.flush();
            let _ = stream.shutdown(std::net::Shutdown::Both);
            // Drain what the client may still send, so the close is clean.
            let _ = reader.read(&mut [0u8; 16]);
        }
    });
    Server { base, requests }
}
