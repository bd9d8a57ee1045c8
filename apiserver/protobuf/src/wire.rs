//! Protobuf wire format primitives: varints, tags, length-delimited records, fixed64. This module owns
//! byte-level reading and writing and knows nothing of Kubernetes.

/// The wire types Kubernetes' messages use (proto2 groups are never used).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WireType {
    Varint,
    Fixed64,
    Len,
    Fixed32,
}

impl WireType {
    fn from_bits(bits: u64) -> Option<Self> {
        match bits {
            0 => Some(Self::Varint),
            1 => Some(Self::Fixed64),
            2 => Some(Self::Len),
            5 => Some(Self::Fixed32),
            _ => None,
        }
    }

    fn bits(self) -> u64 {
        match self {
            Self::Varint => 0,
            Self::Fixed64 => 1,
            Self::Len => 2,
            Self::Fixed32 => 5,
        }
    }
}

/// What went wrong reading bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error("message is truncated")]
    Truncated,
    #[error("varint is longer than 10 bytes")]
    VarintOverflow,
    #[error("unsupported wire type {0}")]
    BadWireType(u64),
    #[error("field number 0 is invalid")]
    ZeroTag,
}

/// One field read from a message.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Value<'a> {
    Varint(u64),
    Fixed64(u64),
    /// A fixed32 value (no Kubernetes field uses one; read only to skip it).
    Fixed32,
    Len(&'a [u8]),
}

/// Reads the fields of one message in order.
#[derive(Debug)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Self { buf }
    }

    /// The next (field number, value), or `None` at the end of the message.
    pub(crate) fn next_field(&mut self) -> Result<Option<(u32, Value<'a>)>, WireError> {
        if self.buf.is_empty() {
            return Ok(None);
        }
        let key = self.varint()?;
        let wire = WireType::from_bits(key & 7).ok_or(WireError::BadWireType(key & 7))?;
        let tag = u32::try_from(key >> 3).map_err(|_| WireError::VarintOverflow)?;
        if tag == 0 {
            return Err(WireError::ZeroTag);
        }
        let value = match wire {
            WireType::Varint => Value::Varint(self.varint()?),
            WireType::Fixed64 => {
                let bytes = self.take(8)?;
                let mut a = [0u8; 8];
                a.copy_from_slice(bytes);
                Value::Fixed64(u64::from_le_bytes(a))
            }
            WireType::Fixed32 => {
                self.take(4)?;
                Value::Fixed32
            }
            WireType::Len => {
                let len = usize::try_from(self.varint()?).map_err(|_| WireError::Truncated)?;
                Value::Len(self.take(len)?)
            }
        };
        Ok(Some((tag, value)))
    }

    pub(crate) fn varint(&mut self) -> Result<u64, WireError> {
        let mut out = 0u64;
        for i in 0..10 {
            let (&b, rest) = self.buf.split_first().ok_or(WireError::Truncated)?;
            self.buf = rest;
            out |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(out);
            }
        }
        Err(WireError::VarintOverflow)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], WireError> {
        if self.buf.len() < n {
            return Err(WireError::Truncated);
        }
        let (head, rest) = self.buf.split_at(n);
        self.buf = rest;
        Ok(head)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }
}

/// Appends fields to a buffer.
#[derive(Debug, Default)]
pub(crate) struct Writer {
    pub(crate) buf: Vec<u8>,
}

impl Writer {
    pub(crate) fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            // Truncation to the low 7 bits is the encoding.
            self.buf.push((v as u8 & 0x7f) | 0x80);
            v >>= 7;
        }
        self.buf.push(v as u8);
    }

    fn key(&mut self, tag: u32, wire: WireType) {
        self.varint((u64::from(tag) << 3) | wire.bits());
    }

    pub(crate) fn varint_field(&mut self, tag: u32, v: u64) {
        self.key(tag, WireType::Varint);
        self.varint(v);
    }

    pub(crate) fn fixed64_field(&mut self, tag: u32, v: u64) {
        self.key(tag, WireType::Fixed64);
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    pub(crate) fn bytes_field(&mut self, tag: u32, v: &[u8]) {
        self.key(tag, WireType::Len);
        self.varint(v.len() as u64);
        self.buf.extend_from_slice(v);
    }

    /// Writes a length-delimited field whose body `body` writes, in place: one byte is reserved for
    /// the length and, when the body turns out to need a longer varint, the body is shifted right
    /// once. Small messages (most of them) cost no copy and no allocation. On error the partial
    /// field is removed.
    pub(crate) fn message_field<E>(
        &mut self,
        tag: u32,
        body: impl FnOnce(&mut Writer) -> Result<(), E>,
    ) -> Result<(), E> {
        let start = self.buf.len();
        self.key(tag, WireType::Len);
        let length_at = self.buf.len();
        self.buf.push(0);
        if let Err(error) = body(self) {
            self.buf.truncate(start);
            return Err(error);
        }
        let body_len = (self.buf.len() - length_at - 1) as u64;
        let mut length = [0u8; 10];
        let mut n = 0;
        let mut v = body_len;
        while v >= 0x80 {
            // Truncation to the low 7 bits is the encoding.
            length[n] = (v as u8 & 0x7f) | 0x80;
            v >>= 7;
            n += 1;
        }
        length[n] = v as u8;
        n += 1;
        if n == 1 {
            self.buf[length_at] = length[0];
        } else {
            self.buf
                .splice(length_at..=length_at, length[..n].iter().copied());
        }
        Ok(())
    }
}

/// A proto int32/int64 read as a varint: the low bits, sign-extended as the sender wrote them.
pub(crate) fn as_i64(v: u64) -> i64 {
    v as i64
}

/// A proto int32 read as a varint (negative int32s are written as 10-byte sign-extended varints).
pub(crate) fn as_i32(v: u64) -> i32 {
    v as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_messages_get_their_length_in_place() {
        for size in [0usize, 1, 127, 128, 300, 20_000] {
            let mut w = Writer::default();
            w.varint_field(1, 7);
            w.message_field(2, |w| {
                w.bytes_field(3, &vec![0xab; size]);
                Ok::<(), ()>(())
            })
            .unwrap();
            let mut expected = Writer::default();
            expected.varint_field(1, 7);
            let mut inner = Writer::default();
            inner.bytes_field(3, &vec![0xab; size]);
            expected.bytes_field(2, &inner.buf);
            assert_eq!(w.buf, expected.buf, "body of {size} bytes");
        }
        let mut w = Writer::default();
        w.varint_field(1, 7);
        let failed = w.message_field(2, |w| {
            w.bytes_field(3, b"partial");
            Err(())
        });
        assert!(failed.is_err());
        assert_eq!(w.buf, [0x08, 7], "a failed field leaves nothing behind");
    }

    #[test]
    fn varints_round_trip() {
        for v in [0u64, 1, 127, 128, 300, u64::from(u32::MAX), (-1i64) as u64] {
            let mut w = Writer::default();
            w.varint(v);
            assert_eq!(Reader::new(&w.buf).varint(), Ok(v));
        }
        let mut w = Writer::default();
        w.varint_field(1, (-5i64) as u64);
        let (tag, value) = Reader::new(&w.buf).next_field().unwrap().unwrap();
        assert_eq!(tag, 1);
        match value {
            Value::Varint(v) => assert_eq!(as_i32(v), -5),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn truncated_input_is_an_error() {
        assert_eq!(
            Reader::new(&[0x0a, 0x05, b'a']).next_field().err(),
            Some(WireError::Truncated)
        );
        assert_eq!(Reader::new(&[0x80]).varint(), Err(WireError::Truncated));
        assert_eq!(
            Reader::new(&[0x0b]).next_field().err(),
            Some(WireError::BadWireType(3))
        );
    }
}
