//! Versioned postcard decoding shared by every serialized type.

use serde::de::DeserializeOwned;

use crate::error::{Error, Result};

/// Decodes `bytes` as the wire type `Raw` (whose first field is a `u16`
/// version) and converts it, with validation, into `T`.
///
/// The version is read on its own first, so bytes of another version give
/// [`Error::UnsupportedVersion`] rather than a decoding error further in.
/// Trailing bytes are refused: a length mix-up must not pass silently.
pub(crate) fn decode<Raw, T>(bytes: &[u8], version: u16) -> Result<T>
where
    Raw: DeserializeOwned,
    T: TryFrom<Raw, Error = Error>,
{
    let (found, _) = postcard::take_from_bytes::<u16>(bytes).map_err(|_| Error::Corrupt)?;
    if found != version {
        return Err(Error::UnsupportedVersion {
            found,
            supported: version,
        });
    }
    let (raw, rest) = postcard::take_from_bytes::<Raw>(bytes).map_err(|_| Error::Corrupt)?;
    if !rest.is_empty() {
        return Err(Error::Corrupt);
    }
    T::try_from(raw)
}
