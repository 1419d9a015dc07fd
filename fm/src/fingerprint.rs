//! A stable 64-bit content hash (FNV-1a), used to tell whether an output folder is current.
//! std's hasher is not promised to stay the same across Rust releases, so it is not used.

/// An FNV-1a hasher over length-prefixed fields, so `("ab", "c")` and `("a", "bc")` differ.
///
/// ```
/// let mut a = coselect_fm::Fingerprint::new();
/// a.field(b"ab").field(b"c");
/// let mut b = coselect_fm::Fingerprint::new();
/// b.field(b"a").field(b"bc");
/// assert_ne!(a.hex(), b.hex());
/// ```
#[derive(Debug, Clone)]
pub struct Fingerprint(u64);

impl Default for Fingerprint {
    fn default() -> Self {
        Self::new()
    }
}

impl Fingerprint {
    /// A fresh hash.
    ///
    /// ```
    /// assert_eq!(coselect_fm::Fingerprint::new().hex(), "cbf29ce484222325");
    /// ```
    pub fn new() -> Self {
        Fingerprint(0xcbf2_9ce4_8422_2325)
    }

    fn bytes(&mut self, data: &[u8]) {
        for &b in data {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }

    /// Adds one field.
    ///
    /// ```
    /// let mut f = coselect_fm::Fingerprint::new();
    /// f.field(b"x");
    /// assert_ne!(f.hex(), coselect_fm::Fingerprint::new().hex());
    /// ```
    pub fn field(&mut self, data: &[u8]) -> &mut Self {
        self.bytes(&(data.len() as u64).to_le_bytes());
        self.bytes(data);
        self
    }

    /// The hash as 16 hex digits.
    ///
    /// ```
    /// assert_eq!(coselect_fm::Fingerprint::new().hex().len(), 16);
    /// ```
    pub fn hex(&self) -> String {
        format!("{:016x}", self.0)
    }
}
