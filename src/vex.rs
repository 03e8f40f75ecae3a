//! `imgscan vex`: the ignore file's vulnerability decisions as OpenVEX.

use crate::cli::VexArgs;
use crate::output;
use imgscan_scanner::assess::vex::openvex::from_ignore_list;
use std::path::Path;
use std::process::ExitCode;
use std::time::SystemTime;

/// Writes the OpenVEX document; what was left out goes to stderr.
pub fn run(args: &VexArgs) -> anyhow::Result<ExitCode> {
    let path = args
        .ignore_file
        .as_deref()
        .unwrap_or(Path::new(crate::DEFAULT_IGNORE_FILE));
    anyhow::ensure!(
        path.is_file(),
        "no ignore file at `{}` (give one with --ignore-file)",
        path.display()
    );
    let ignore = crate::load_ignore(Some(path))?;
    let written = from_ignore_list(
        &ignore,
        &args.product,
        &args.author,
        SystemTime::now(),
        imgscan_scanner::assess::ignore::today(),
    )?;
    for note in &written.left_out {
        output::note(&format!("imgscan: left out {note}"));
    }
    if let Some(out) = &args.output {
        output::refuse_overwriting_inputs(out, &[("ignore file", path.to_path_buf())])?;
    }
    output::emit(args.output.as_deref(), &written.text)?;
    Ok(ExitCode::SUCCESS)
}
