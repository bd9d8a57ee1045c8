//! Byte-level encoding of the write-ahead log records (and the little-endian readers the snapshot
//! format shares).
//!
//! A log record is `u32 len | u32 crc32c(payload) | payload` (little endian), and the payload is
//! `u8 op | i64 revision | u64 deadline (unix millis, 0 = none) | u32 key_len | key | u32 value_len |
//! value`. `op` is 1 put, 2 delete (value empty), 3 compact (key and value empty, `revision` is the
//! compaction revision). The checksum covers the whole payload, so a torn or garbled record fails it.

use bytes::Bytes;

use crate::{Result, Revision, StorageError};

/// Bytes in front of every payload: length and checksum.
pub(crate) const HEADER_LEN: usize = 8;
/// Fixed part of a payload: op, revision, deadline, key length, value length.
const FIXED_PAYLOAD: usize = 1 + 8 + 8 + 4 + 4;
/// Largest payload accepted. Kubernetes objects are at most ~1.5 MiB; a larger length field can
/// only come from a torn or corrupt header, and must not make replay allocate gigabytes.
pub(crate) const MAX_PAYLOAD: usize = 256 << 20;

/// What a log record does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    /// Write `value` at `key`.
    Put = 1,
    /// Delete `key`.
    Delete = 2,
    /// Forget history below `revision`.
    Compact = 3,
}

/// A decoded log record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Record {
    pub op: Op,
    pub revision: Revision,
    pub deadline: u64,
    pub key: String,
    pub value: Bytes,
}

/// Append one record to `buf`.
pub(crate) fn encode_record(
    buf: &mut Vec<u8>,
    op: Op,
    revision: Revision,
    deadline: u64,
    key: &str,
    value: &[u8],
) -> Result<()> {
    let payload_len = FIXED_PAYLOAD + key.len() + value.len();
    if payload_len > MAX_PAYLOAD {
        return Err(StorageError::InvalidRequest(format!(
            "key and value of {payload_len} bytes exceed the limit of {MAX_PAYLOAD}"
        )));
    }
    let start = buf.len();
    buf.reserve(HEADER_LEN + payload_len);
    // Placeholder header; filled once the payload is in place.
    buf.extend_from_slice(&[0; HEADER_LEN]);
    buf.push(op as u8);
    buf.extend_from_slice(&revision.to_le_bytes());
    buf.extend_from_slice(&deadline.to_le_bytes());
    buf.extend_from_slice(&(key.len() as u32).to_le_bytes());
    buf.extend_from_slice(key.as_bytes());
    buf.extend_from_slice(&(value.len() as u32).to_le_bytes());
    buf.extend_from_slice(value);
    let crc = crc32c::crc32c(&buf[start + HEADER_LEN..]);
    buf[start..start + 4].copy_from_slice(&(payload_len as u32).to_le_bytes());
    buf[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
    Ok(())
}

/// The outcome of decoding at some offset of a segment.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Decoded {
    /// A valid record and the bytes it took.
    Record(Record, usize),
    /// The buffer ends inside a record (or holds only part of a header).
    Truncated,
    /// The record fails its checksum or does not parse.
    Bad(String),
}

/// Decode the record at the start of `buf`. An empty `buf` is `Truncated`.
pub(crate) fn decode_record(buf: &[u8]) -> Decoded {
    let mut header = Reader::new(buf);
    let (Some(len), Some(crc)) = (header.u32(), header.u32()) else {
        return Decoded::Truncated;
    };
    let len = len as usize;
    if !(FIXED_PAYLOAD..=MAX_PAYLOAD).contains(&len) {
        return Decoded::Bad(format!("record length {len} out of range"));
    }
    let Some(payload) = buf.get(HEADER_LEN..HEADER_LEN + len) else {
        return Decoded::Truncated;
    };
    if crc32c::crc32c(payload) != crc {
        return Decoded::Bad("record checksum mismatch".into());
    }
    match parse_payload(payload) {
        Some(record) => Decoded::Record(record, HEADER_LEN + len),
        None => Decoded::Bad("record payload does not parse".into()),
    }
}

fn parse_payload(payload: &[u8]) -> Option<Record> {
    let mut r = Reader::new(payload);
    let op = match r.u8()? {
        1 => Op::Put,
        2 => Op::Delete,
        3 => Op::Compact,
        _ => return None,
    };
    let revision = r.i64()?;
    let deadline = r.u64()?;
    let key_len = r.u32()? as usize;
    let key = std::str::from_utf8(r.bytes(key_len)?).ok()?.to_owned();
    let value_len = r.u32()? as usize;
    let value = Bytes::copy_from_slice(r.bytes(value_len)?);
    if !r.is_empty() || revision <= 0 || (op != Op::Compact && key.is_empty()) {
        return None;
    }
    Some(Record {
        op,
        revision,
        deadline,
        key,
        value,
    })
}

/// A little-endian reader over a byte slice; every read is `None` past the end.
#[derive(Debug)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.pos >= self.buf.len()
    }

    pub(crate) fn bytes(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let out = self.buf.get(self.pos..end)?;
        self.pos = end;
        Some(out)
    }

    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.bytes(N)?.try_into().ok()
    }

    pub(crate) fn u8(&mut self) -> Option<u8> {
        Some(self.array::<1>()?[0])
    }

    pub(crate) fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.array()?))
    }

    pub(crate) fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.array()?))
    }

    pub(crate) fn i64(&mut self) -> Option<i64> {
        Some(i64::from_le_bytes(self.array()?))
    }
}
