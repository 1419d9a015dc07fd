//! Seed derivation: every random stream of a run comes from the run seed and a fixed tag, so
//! results do not depend on thread count, job order or platform.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// The random generator used everywhere in the harness (portable across platforms).
pub type SimRng = ChaCha8Rng;

/// A seed for the stream named `tag` with index `index`, derived from `base`.
///
/// ```
/// use coselect_sim::seed::derive_seed;
/// assert_eq!(derive_seed(1, "noise", 0), derive_seed(1, "noise", 0));
/// assert_ne!(derive_seed(1, "noise", 0), derive_seed(1, "split", 0));
/// ```
pub fn derive_seed(base: u64, tag: &str, index: u64) -> u64 {
    // FNV-1a over the tag, then splitmix64 finalisation: stable, unlike std's hasher.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in tag.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    splitmix(splitmix(base ^ h).wrapping_add(index))
}

/// A generator for the stream named `tag` with index `index`, derived from `base`.
pub fn rng_for(base: u64, tag: &str, index: u64) -> SimRng {
    SimRng::seed_from_u64(derive_seed(base, tag, index))
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}
