//! The Instance-Code (iscc-core `gen_instance_code_v0`): the BLAKE3 hash of the bytes, so it changes
//! with any change to the file; with it the full hash as a multihash and the file size.

use super::codec::{encode_unit, MainType};
use super::error::IsccError;
use super::hash::multihash_hex;

/// An Instance-Code and the checksum and size iscc-core reports with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceCode {
    /// The canonical `ISCC:...` Instance-Code.
    pub iscc: String,
    /// Multihash (`1e20` + BLAKE3, hex) of the whole input.
    pub datahash: String,
    /// Input length in bytes.
    pub filesize: u64,
}

/// The Instance-Code of `data`, cut to `bits`.
pub fn instance_code(data: &[u8], bits: u32) -> Result<InstanceCode, IsccError> {
    let hash = blake3::hash(data);
    Ok(InstanceCode {
        iscc: encode_unit(MainType::Instance, 0, bits, hash.as_bytes())?,
        datahash: multihash_hex(&hash),
        filesize: data.len() as u64,
    })
}
