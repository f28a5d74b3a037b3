//! Picks the torch device at run time; nothing hard-codes CUDA or CPU.

use tch::Device;

use crate::version_py::parse_version_py;
pub use mask_curator::ml::config::DeviceChoice;

/// The device for a choice: `auto` is CUDA when available, else CPU; `cuda` fails clearly
/// when CUDA is not available.
pub fn choose(choice: DeviceChoice) -> anyhow::Result<Device> {
    match choice {
        DeviceChoice::Auto => Ok(Device::cuda_if_available()),
        DeviceChoice::Cpu => Ok(Device::Cpu),
        DeviceChoice::Cuda => {
            if tch::Cuda::is_available() {
                Ok(Device::Cuda(0))
            } else {
                anyhow::bail!(
                    "--device cuda was asked for, but CUDA is not available on this machine"
                )
            }
        }
    }
}

/// The libtorch this binary was linked against (read from `version.py` at build time).
pub const BUILD_TORCH_VERSION: &str = env!("MASK_CURATOR_BUILD_TORCH_VERSION");

/// The libtorch actually loaded in this process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadedTorch {
    /// Folder of the loaded `libtorch_cpu.so`.
    pub lib_dir: std::path::PathBuf,
    /// From `version.py` beside that folder, when present.
    pub version: Option<String>,
    /// Whether `libtorch_cuda.so` is loaded too (a CUDA build of libtorch).
    pub cuda_library_loaded: bool,
}

/// Finds the loaded libtorch from the process's memory map (Linux). torch-sys exposes no
/// version getter, so the version comes from the `version.py` shipped next to the library.
pub fn loaded_torch() -> Option<LoadedTorch> {
    // Touch libtorch so that it is surely mapped.
    let _ = tch::Cuda::is_available();
    let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
    let lib = maps
        .lines()
        .filter_map(|line| line.split_whitespace().nth(5))
        .find(|path| path.ends_with("/libtorch_cpu.so"))?;
    let lib_dir = std::path::Path::new(lib).parent()?.to_path_buf();
    let version = lib_dir
        .parent()
        .and_then(|torch_dir| std::fs::read_to_string(torch_dir.join("version.py")).ok())
        .and_then(|text| parse_version_py(&text));
    let cuda_library_loaded = maps.contains("/libtorch_cuda.so");
    Some(LoadedTorch {
        lib_dir,
        version,
        cuda_library_loaded,
    })
}

/// The libtorch version the binary runs with: the loaded library's when it can be read,
/// else the one it was built against.
pub fn torch_version() -> String {
    loaded_torch()
        .and_then(|t| t.version)
        .unwrap_or_else(|| BUILD_TORCH_VERSION.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_py_is_parsed() {
        let text = "__all__ = ['__version__']\n__version__ = '2.13.0+cu130'\ncuda = '13.0'\n";
        assert_eq!(parse_version_py(text).as_deref(), Some("2.13.0+cu130"));
        assert_eq!(parse_version_py("nothing here"), None);
    }

    #[test]
    fn the_loaded_library_is_the_one_built_against() {
        let loaded = loaded_torch().expect("libtorch_cpu.so is mapped");
        assert_eq!(loaded.version.as_deref(), Some(BUILD_TORCH_VERSION));
        // build.rs links libtorch.so on purpose, so a CUDA build loads its CUDA library.
        assert_eq!(
            loaded.cuda_library_loaded,
            loaded.lib_dir.join("libtorch_cuda.so").exists()
        );
    }
}
