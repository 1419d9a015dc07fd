//! `coselect prepare` (being built; see the tracker).

#[derive(clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("`coselect prepare` is not built yet")
}
