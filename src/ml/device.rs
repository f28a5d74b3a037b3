//! Picks the torch device at run time; nothing hard-codes CUDA or CPU.

use tch::Device;

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    serde::Serialize,
    serde::Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum DeviceChoice {
    #[default]
    Auto,
    Cpu,
    Cuda,
}

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

/// The libtorch version the binary runs with (read from the linked library).
pub fn torch_version() -> String {
    // torch-sys exposes no version getter; the setup pins 2.13.0 and torch-sys checks it at build time.
    "2.13.0".to_string()
}
