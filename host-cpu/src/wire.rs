//! The envelope of every state this host ships between processes: postcard
//! bytes followed by a 64-bit FNV-1a checksum of them. States cross
//! networks and object stores, and a flipped bit in a score, an id or an EM
//! sum would otherwise decode to a valid state that selects the wrong rows.

use crate::error::{Error, Result};

fn checksum(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Appends the checksum.
pub(crate) fn seal(mut bytes: Vec<u8>) -> Vec<u8> {
    let sum = checksum(&bytes);
    bytes.extend_from_slice(&sum.to_le_bytes());
    bytes
}

/// The payload of sealed bytes, or `Corrupt` when the checksum disagrees.
pub(crate) fn open<'a>(bytes: &'a [u8], what: &'static str) -> Result<&'a [u8]> {
    let (body, sum) = bytes.split_at(bytes.len().saturating_sub(8));
    if sum.len() != 8 || checksum(body).to_le_bytes() != sum {
        return Err(Error::core(what)(coselect_core::Error::Corrupt));
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_single_bit_flip_is_caught() {
        let sealed = seal((0u8..=255).collect());
        assert_eq!(open(&sealed, "x").unwrap().len(), 256);
        for i in 0..sealed.len() {
            for bit in 0..8 {
                let mut b = sealed.clone();
                b[i] ^= 1 << bit;
                assert!(open(&b, "x").is_err(), "byte {i} bit {bit}");
            }
        }
        assert!(open(&sealed[..7], "x").is_err());
    }
}
