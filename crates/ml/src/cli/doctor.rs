use crate::device::{self, DeviceChoice};
use clap::Args as ClapArgs;

#[derive(Debug, ClapArgs)]
pub struct Args {}

pub fn run(_args: Args) -> anyhow::Result<()> {
    let device = device::choose(DeviceChoice::Auto)?;
    let loaded = device::loaded_torch();
    match &loaded {
        Some(t) => {
            let version = t
                .version
                .as_deref()
                .unwrap_or("unknown (no version.py beside it)");
            println!(
                "torch       {version} (loaded from {})",
                t.lib_dir.display()
            );
        }
        None => println!(
            "torch       {} (built against; loaded library not found)",
            device::BUILD_TORCH_VERSION
        ),
    }
    if let Some(v) = loaded.as_ref().and_then(|t| t.version.as_deref()) {
        if v != device::BUILD_TORCH_VERSION {
            println!(
                "warning     built against torch {}, running with {v}",
                device::BUILD_TORCH_VERSION
            );
        }
    }
    let cuda = if tch::Cuda::is_available() {
        format!("available ({} device(s))", tch::Cuda::device_count())
    } else if loaded.as_ref().is_some_and(|t| t.cuda_library_loaded) {
        "not available (libtorch_cuda.so is loaded, but no usable GPU or CUDA driver was found)"
            .to_string()
    } else {
        "not available (CPU-only libtorch)".to_string()
    };
    println!("cuda        {cuda}");
    println!("cudnn       {}", tch::Cuda::cudnn_is_available());
    println!("device      {device:?}");
    println!("threads     {}", tch::get_num_threads());
    Ok(())
}
