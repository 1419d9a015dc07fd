//! The floor under `coselect select`'s job shape: a fresh process that maps
//! files, reads every byte once on `threads` threads, and exits. Nothing is
//! validated, scored or written; what is left is the process start, the
//! kernel mapping the file pages, the reads, and the unmapping at exit.
//! `benches/compare_numpy.py` runs it on the same `fm.npy` and `sm.npy` as
//! `coselect select` and prints both, so the selection's time can be read
//! against what merely reading its input through `mmap` costs on the machine.
//!
//! ```text
//! cargo build --release -p coselect-cpu --example map_floor
//! target/release/examples/map_floor 2 fm.npy sm.npy
//! ```
//!
//! Prints a checksum of the bytes (the wrapping sum of their 64-bit words),
//! so the reads cannot be optimised away.

use std::fs::File;

fn main() {
    let mut args = std::env::args().skip(1);
    let threads = match args.next().map(|t| t.parse::<usize>()) {
        Some(Ok(t)) if t > 0 => t,
        _ => {
            eprintln!("usage: map_floor THREADS FILE...");
            std::process::exit(2);
        }
    };
    let mut maps = Vec::new();
    for path in args {
        let map = File::open(&path).and_then(|f| {
            // SAFETY: read-only and private; another process rewriting the
            // file while it is mapped is the one hazard, as for `coselect`.
            #[allow(unsafe_code)]
            unsafe {
                memmap2::Mmap::map(&f)
            }
        });
        match map {
            Ok(m) => maps.push(m),
            Err(e) => {
                eprintln!("cannot map {path}: {e}");
                std::process::exit(1);
            }
        }
    }
    let maps = &maps;
    // Worker `w` reads the `w`-th part of every file, as the scoring pass's
    // workers share the rows of both matrices.
    let total = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|w| {
                s.spawn(move || {
                    maps.iter().fold(0u64, |acc, m| {
                        // Parts whole 64-byte blocks, so the checksum is the
                        // same for any thread count.
                        let part = m.len() / threads / 64 * 64;
                        let end = if w + 1 == threads {
                            m.len()
                        } else {
                            (w + 1) * part
                        };
                        acc.wrapping_add(word_sum(&m[w * part..end]))
                    })
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|h| h.join().expect("a reading thread cannot panic"))
            .fold(0u64, u64::wrapping_add)
    });
    println!("{total}");
}

/// The wrapping sum of the little-endian 64-bit words of `b` (a tail of
/// fewer than 8 bytes padded with zeros): eight independent sums, so the
/// loop vectorises and is bound by the reads.
fn word_sum(b: &[u8]) -> u64 {
    let mut acc = [0u64; 8];
    let blocks = b.chunks_exact(64);
    let rest = blocks.remainder();
    for block in blocks {
        for (a, w) in acc.iter_mut().zip(block.chunks_exact(8)) {
            *a = a.wrapping_add(u64::from_le_bytes(w.try_into().expect("8 bytes")));
        }
    }
    for w in rest.chunks(8) {
        let mut word = [0u8; 8];
        word[..w.len()].copy_from_slice(w);
        acc[0] = acc[0].wrapping_add(u64::from_le_bytes(word));
    }
    acc.iter().fold(0u64, |s, &a| s.wrapping_add(a))
}
