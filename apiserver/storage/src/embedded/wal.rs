//! The write-ahead log on disk: segment files, appending to the active one, and replay.
//!
//! Segments are `wal-<first revision, 20 digits>.log`: the name is the revision of the first put or
//! delete the segment will hold (compact records may carry lower revisions), so segment `i` holds
//! the put/delete revisions `[first(i), first(i+1))`. Only the newest segment is ever appended to;
//! a new segment is started past `segment_bytes` and on every open. Replay reads segments in name
//! order; a truncated or bad record ends the last segment (a torn tail of a crash: the file is cut
//! there), anywhere else it is [`StorageError::Corrupt`].

use std::{
    fs::{File, OpenOptions},
    io::{Read, Write},
    path::{Path, PathBuf},
};

use super::codec::{self, Decoded, Op, Record};
use crate::{Result, Revision, StorageError};

/// A segment file and what is known about its content.
#[derive(Debug, Clone)]
pub(crate) struct Segment {
    /// The revision in its name.
    pub first_rev: Revision,
    pub path: PathBuf,
    /// Bytes of valid records.
    pub bytes: u64,
    /// The highest compaction revision recorded in it (0 if none): a segment may only be deleted
    /// once a snapshot holds that compaction too.
    pub max_compact: Revision,
}

/// The file name of the segment starting at `first_rev`.
pub(crate) fn segment_name(first_rev: Revision) -> String {
    format!("wal-{first_rev:020}.log")
}

/// The revision in a `<prefix><20 digits><suffix>` file name.
pub(crate) fn parse_name(name: &str, prefix: &str, suffix: &str) -> Option<Revision> {
    let digits = name.strip_prefix(prefix)?.strip_suffix(suffix)?;
    if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Files in `dir` named `<prefix><revision><suffix>`, sorted by revision.
pub(crate) fn list_files(
    dir: &Path,
    prefix: &str,
    suffix: &str,
) -> Result<Vec<(Revision, PathBuf)>> {
    let mut out = Vec::new();
    let entries = std::fs::read_dir(dir)
        .map_err(|e| StorageError::io(format!("reading {}", dir.display()), e))?;
    for entry in entries {
        let entry = entry.map_err(|e| StorageError::io(format!("reading {}", dir.display()), e))?;
        let name = entry.file_name();
        if let Some(rev) = name.to_str().and_then(|n| parse_name(n, prefix, suffix)) {
            out.push((rev, entry.path()));
        }
    }
    out.sort();
    Ok(out)
}

/// fsync a directory so that files created, renamed or removed in it survive a crash.
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| StorageError::io(format!("syncing directory {}", dir.display()), e))
}

/// Replay every segment in order, handing each valid record to `apply`. Cuts a torn tail off the
/// last segment. Returns the segments with their valid lengths and compaction marks.
pub(crate) fn replay(
    dir: &Path,
    mut apply: impl FnMut(Record) -> Result<()>,
) -> Result<Vec<Segment>> {
    let files = list_files(dir, "wal-", ".log")?;
    let mut segments = Vec::with_capacity(files.len());
    let count = files.len();
    for (i, (first_rev, path)) in files.into_iter().enumerate() {
        let is_last = i + 1 == count;
        let mut buf = Vec::new();
        File::open(&path)
            .and_then(|mut f| f.read_to_end(&mut buf))
            .map_err(|e| StorageError::io(format!("reading {}", path.display()), e))?;
        let mut offset = 0;
        let mut max_compact = 0;
        while offset < buf.len() {
            match codec::decode_record(&buf[offset..]) {
                Decoded::Record(record, used) => {
                    if record.op == Op::Compact {
                        max_compact = max_compact.max(record.revision);
                    }
                    apply(record)?;
                    offset += used;
                }
                Decoded::Truncated | Decoded::Bad(_) if is_last => {
                    tracing::warn!(
                        segment = %path.display(),
                        offset,
                        dropped = buf.len() - offset,
                        "cutting a torn tail off the write-ahead log"
                    );
                    truncate(&path, offset as u64)?;
                    break;
                }
                Decoded::Truncated => {
                    return Err(StorageError::Corrupt(format!(
                        "{} ends inside a record at offset {offset}, but it is not the last segment",
                        path.display()
                    )));
                }
                Decoded::Bad(why) => {
                    return Err(StorageError::Corrupt(format!(
                        "{}: {why} at offset {offset}",
                        path.display()
                    )));
                }
            }
        }
        segments.push(Segment {
            first_rev,
            path,
            bytes: offset as u64,
            max_compact,
        });
    }
    Ok(segments)
}

fn truncate(path: &Path, len: u64) -> Result<()> {
    OpenOptions::new()
        .write(true)
        .open(path)
        .and_then(|f| {
            f.set_len(len)?;
            f.sync_all()
        })
        .map_err(|e| StorageError::io(format!("truncating {}", path.display()), e))
}

/// The segment being appended to; owned by the commit thread.
#[derive(Debug)]
pub(crate) struct ActiveSegment {
    file: File,
    pub first_rev: Revision,
    pub bytes: u64,
}

impl ActiveSegment {
    /// Open the segment starting at `first_rev` for appending, creating it if needed.
    pub(crate) fn open(dir: &Path, first_rev: Revision) -> Result<(Self, Segment)> {
        let path = dir.join(segment_name(first_rev));
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| StorageError::io(format!("opening {}", path.display()), e))?;
        let bytes = file
            .metadata()
            .map_err(|e| StorageError::io(format!("reading {}", path.display()), e))?
            .len();
        // The file is new, or its (empty or torn) content was already made durable by replay; make
        // its creation durable before anything is acknowledged from it.
        file.sync_all()
            .map_err(|e| StorageError::io(format!("syncing {}", path.display()), e))?;
        sync_dir(dir)?;
        let segment = Segment {
            first_rev,
            path,
            bytes,
            max_compact: 0,
        };
        Ok((
            ActiveSegment {
                file,
                first_rev,
                bytes,
            },
            segment,
        ))
    }

    /// Append a batch and make it durable: one write, one fdatasync (group commit).
    pub(crate) fn append_durably(&mut self, batch: &[u8]) -> std::io::Result<()> {
        self.file.write_all(batch)?;
        self.file.sync_data()?;
        self.bytes += batch.len() as u64;
        Ok(())
    }
}
