//! `coselect simulate` (being built; see the tracker).

#[derive(clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("`coselect simulate` is not built yet")
}
