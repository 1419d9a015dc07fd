//! Prints the memory footprint of the core's fixed-capacity structures, so a
//! firmware author can size them: `cargo run -p coselect-core --example sizes`.

use core::mem::size_of;

use coselect_core::{CoDecider, PriorEm, Scorer, Selector};

fn main() {
    println!(
        "Selector<16, 64>    {:>8} bytes",
        size_of::<Selector<16, 64>>()
    );
    println!(
        "Selector<100, 256>  {:>8} bytes",
        size_of::<Selector<100, 256>>()
    );
    println!("Scorer<16>          {:>8} bytes", size_of::<Scorer<16>>());
    println!("Scorer<100>         {:>8} bytes", size_of::<Scorer<100>>());
    println!("PriorEm<16>         {:>8} bytes", size_of::<PriorEm<16>>());
    println!("PriorEm<100>        {:>8} bytes", size_of::<PriorEm<100>>());
    println!(
        "CoDecider<16, 256>  {:>8} bytes",
        size_of::<CoDecider<16, 256>>()
    );
}
