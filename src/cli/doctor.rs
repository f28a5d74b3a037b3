use clap::Args as ClapArgs;

#[derive(Debug, ClapArgs)]
pub struct Args {}

pub fn run(_args: Args) -> anyhow::Result<()> {
    let device = crate::ml::device::choose(crate::ml::device::DeviceChoice::Auto)?;
    println!("torch       {}", crate::ml::device::torch_version());
    println!(
        "cuda        {}",
        if tch::Cuda::is_available() {
            format!("available ({} device(s))", tch::Cuda::device_count())
        } else {
            "not available".to_string()
        }
    );
    println!("cudnn       {}", tch::Cuda::cudnn_is_available());
    println!("device      {device:?}");
    println!("threads     {}", tch::get_num_threads());
    Ok(())
}
