// The pool's shape and the round's knobs, shared by the firmware, its
// build.rs and the host test.

/// Pool rows.
pub const ROWS: usize = 2000;
/// Classes.
pub const CLASSES: usize = 8;
/// Budget of the round.
pub const K: usize = 24;
/// Trusted labels per class: with seed_min 3, classes 3, 4, 5 and 7 are in
/// boundary mode and the others in seed mode, so both scorers run.
pub const COUNTS: [u32; CLASSES] = [0, 1, 2, 3, 5, 8, 0, 4];
