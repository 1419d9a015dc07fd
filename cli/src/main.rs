//! `coselect`: the command line over the coselect crates.
//!
//! Each subcommand lives in its own module with its `Args` and `run`; this
//! file only dispatches.

use clap::{Parser, Subcommand};

mod prepare;
mod select;
mod simulate;

#[derive(Parser)]
#[command(
    name = "coselect",
    version,
    about = "Active learning with foundation-model priors under class imbalance"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Embed a text dataset with the bundled foundation model and write a dataset folder.
    Prepare(prepare::Args),
    /// Run the active learning loop on a dataset folder and report annotation savings.
    Simulate(simulate::Args),
    /// Select the next batch to annotate from .npy score files.
    Select(select::Args),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Prepare(args) => prepare::run(args),
        Command::Simulate(args) => simulate::run(args),
        Command::Select(args) => select::run(args),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
