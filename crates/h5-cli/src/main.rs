//! `h5`: list and dump HDF5 files.
//!
//! Exit codes: 0 success, 1 a bad or unsupported file (message on stderr), 2 bad usage.
#![forbid(unsafe_code)]

mod dump;
mod ls;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "h5", version, about = "Inspect HDF5 files (pure Rust)")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// List a file's objects, like h5ls.
    Ls {
        /// Recurse into groups.
        #[arg(short, long)]
        recursive: bool,
        /// Show layout, chunks, filters and attributes.
        #[arg(short, long)]
        verbose: bool,
        /// FILE or FILE/path/inside.
        target: String,
    },
    /// Dump a file (or one dataset) as JSON, as ../shared/dump-format.md specifies.
    Dump {
        /// JSON output (the only format so far).
        #[arg(long)]
        json: bool,
        /// Dump this dataset's node alone.
        #[arg(long)]
        dataset: Option<String>,
        /// numpy slice syntax over the dataset (`3,100:164,::2`); needs --dataset.
        #[arg(long, allow_hyphen_values = true)]
        select: Option<String>,
        /// Refuse (as an error entry) a dataset selection of more elements than this.
        #[arg(long, default_value_t = 1 << 32)]
        max_elements: u64,
        /// The file.
        file: String,
    },
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let result = match cli.command {
        Command::Ls {
            recursive,
            verbose,
            target,
        } => ls::run(&target, recursive, verbose),
        Command::Dump {
            json,
            dataset,
            select,
            max_elements,
            file,
        } => {
            if !json {
                eprintln!("h5 dump: only --json output exists so far; pass --json");
                return ExitCode::from(2);
            }
            if select.is_some() && dataset.is_none() {
                eprintln!("h5 dump: --select needs --dataset");
                return ExitCode::from(2);
            }
            match dump::run(&file, dataset.as_deref(), select.as_deref(), max_elements) {
                Ok(0) => Ok(()),
                Ok(n) => {
                    eprintln!(
                        "h5 dump: {n} object{} could not be read (error entries in the output)",
                        if n == 1 { "" } else { "s" }
                    );
                    return ExitCode::from(1);
                }
                Err(e) => Err(e),
            }
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // The reader of our output went away (`h5 ls big.h5 | head`): not an error.
        Err(h5::Error::Io(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("h5: {e}");
            ExitCode::from(1)
        }
    }
}
