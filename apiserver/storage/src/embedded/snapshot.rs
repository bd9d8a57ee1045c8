//! Snapshot files: the whole MVCC index at one committed revision, so that startup replays only the
//! log written after it and old segments can be deleted.
//!
//! `snapshot-<revision, 20 digits>.snap` is `"TUGSNAP1" | i64 revision | i64 compacted | keys... |
//! u32 0xFFFF_FFFF | u32 crc32c(everything before it)`, each key being `u32 key_len | key | u32
//! n_entries | entries...` and each entry `i64 rev | i64 create_rev | i64 version | u64 deadline |
//! u8 has_value | u32 value_len | value`. Only entries at or below `revision` are written (the index
//! may hold newer, not yet durable ones). A snapshot is written to `<name>.tmp`, fsynced, renamed and
//! the directory fsynced, so a visible snapshot is always complete.

use std::{
    fs::File,
    io::{BufWriter, Read, Write},
    path::{Path, PathBuf},
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
};

use bytes::Bytes;

use super::{
    codec::Reader,
    index::{Entry, Index},
    wal,
};
use crate::{Result, Revision, StorageError};

const MAGIC: &[u8; 8] = b"TUGSNAP1";
const END_OF_KEYS: u32 = u32::MAX;

/// The file name of the snapshot at `rev`.
pub(crate) fn snapshot_name(rev: Revision) -> String {
    format!("snapshot-{rev:020}.snap")
}

/// Snapshot files in `dir`, oldest first.
pub(crate) fn list(dir: &Path) -> Result<Vec<(Revision, PathBuf)>> {
    wal::list_files(dir, "snapshot-", ".snap")
}

/// Feeds everything written through it into a running CRC32C.
struct CrcWriter<W> {
    inner: W,
    crc: u32,
}

impl<W: Write> Write for CrcWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.crc = crc32c::crc32c_append(self.crc, &buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Why writing a snapshot stopped early.
#[derive(Debug)]
pub(crate) enum WriteError {
    /// The store is shutting down.
    Aborted,
    Io(std::io::Error),
}

impl From<std::io::Error> for WriteError {
    fn from(e: std::io::Error) -> Self {
        WriteError::Io(e)
    }
}

/// Write the snapshot of `index` at `rev` durably; returns its path. Checks `abort` now and then so
/// that shutdown does not wait for a large snapshot.
pub(crate) fn write(
    dir: &Path,
    index: &Index,
    rev: Revision,
    compacted: Revision,
    abort: &AtomicBool,
) -> Result<Option<PathBuf>> {
    let path = dir.join(snapshot_name(rev));
    let tmp = dir.join(format!("{}.tmp", snapshot_name(rev)));
    match write_file(&tmp, index, rev, compacted, abort) {
        Ok(()) => {}
        Err(error) => {
            let _ = std::fs::remove_file(&tmp);
            return match error {
                WriteError::Aborted => Ok(None),
                WriteError::Io(e) => Err(StorageError::io(format!("writing {}", tmp.display()), e)),
            };
        }
    }
    std::fs::rename(&tmp, &path)
        .map_err(|e| StorageError::io(format!("renaming {}", tmp.display()), e))?;
    wal::sync_dir(dir)?;
    Ok(Some(path))
}

fn write_file(
    tmp: &Path,
    index: &Index,
    rev: Revision,
    compacted: Revision,
    abort: &AtomicBool,
) -> Result<(), WriteError> {
    let file = File::create(tmp)?;
    let mut w = CrcWriter {
        inner: BufWriter::with_capacity(1 << 20, file),
        crc: 0,
    };
    w.write_all(MAGIC)?;
    w.write_all(&rev.to_le_bytes())?;
    w.write_all(&compacted.to_le_bytes())?;
    for (n, (key, chain)) in index.iter().enumerate() {
        if n % 1024 == 0 && abort.load(Ordering::Relaxed) {
            return Err(WriteError::Aborted);
        }
        let visible = chain.partition_point(|e| e.rev <= rev);
        if visible == 0 {
            continue;
        }
        w.write_all(&(key.len() as u32).to_le_bytes())?;
        w.write_all(key.as_bytes())?;
        w.write_all(&(visible as u32).to_le_bytes())?;
        for e in &chain[..visible] {
            w.write_all(&e.rev.to_le_bytes())?;
            w.write_all(&e.create_rev.to_le_bytes())?;
            w.write_all(&e.version.to_le_bytes())?;
            w.write_all(&e.deadline.to_le_bytes())?;
            let value = e.value.as_deref();
            w.write_all(&[u8::from(value.is_some())])?;
            let value = value.unwrap_or_default();
            w.write_all(&(value.len() as u32).to_le_bytes())?;
            w.write_all(value)?;
        }
    }
    w.write_all(&END_OF_KEYS.to_le_bytes())?;
    let crc = w.crc;
    let mut inner = w.inner;
    inner.write_all(&crc.to_le_bytes())?;
    let file = inner.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()?;
    Ok(())
}

/// A snapshot read back.
#[derive(Debug)]
pub(crate) struct Loaded {
    pub index: Index,
    pub rev: Revision,
    pub compacted: Revision,
}

/// Read and verify a snapshot file.
pub(crate) fn load(path: &Path) -> Result<Loaded> {
    let mut buf = Vec::new();
    File::open(path)
        .and_then(|mut f| f.read_to_end(&mut buf))
        .map_err(|e| StorageError::io(format!("reading {}", path.display()), e))?;
    let corrupt = |why: &str| StorageError::Corrupt(format!("snapshot {}: {why}", path.display()));
    let Some(body_len) = buf.len().checked_sub(4) else {
        return Err(corrupt("too short"));
    };
    let (body, crc) = buf.split_at(body_len);
    let crc = Reader::new(crc).u32().ok_or_else(|| corrupt("too short"))?;
    if crc32c::crc32c(body) != crc {
        return Err(corrupt("checksum mismatch"));
    }
    parse(body).ok_or_else(|| corrupt("does not parse"))
}

fn parse(body: &[u8]) -> Option<Loaded> {
    let mut r = Reader::new(body);
    if r.bytes(MAGIC.len())? != MAGIC {
        return None;
    }
    let rev = r.i64()?;
    let compacted = r.i64()?;
    let mut index = Index::new();
    loop {
        let key_len = r.u32()?;
        if key_len == END_OF_KEYS {
            break;
        }
        let key: Arc<str> = Arc::from(std::str::from_utf8(r.bytes(key_len as usize)?).ok()?);
        let n = r.u32()? as usize;
        let mut chain = Vec::with_capacity(n.min(1024));
        for _ in 0..n {
            let e_rev = r.i64()?;
            let create_rev = r.i64()?;
            let version = r.i64()?;
            let deadline = r.u64()?;
            let has_value = r.u8()? != 0;
            let len = r.u32()? as usize;
            let value = Bytes::copy_from_slice(r.bytes(len)?);
            chain.push(Entry {
                rev: e_rev,
                create_rev,
                version,
                value: has_value.then_some(value),
                deadline,
            });
        }
        if chain.is_empty() || chain.windows(2).any(|w| w[0].rev >= w[1].rev) {
            return None;
        }
        index.insert(key, Arc::new(chain));
    }
    if !r.is_empty() || rev < 0 || compacted < 0 || compacted > rev {
        return None;
    }
    Some(Loaded {
        index,
        rev,
        compacted,
    })
}
