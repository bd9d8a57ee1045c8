//! The crate's error type. Every failure says where in the object it happened (a JSON path such as
//! `.spec.containers[0].ports[1].containerPort`) so a 400 response can point at the bad field.

use crate::wire::WireError;

/// Why a body could not be transcoded.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The body does not start with the `k8s\0` magic of `application/vnd.kubernetes.protobuf`.
    #[error(
        "provided data does not appear to be a protobuf message, expected prefix [107 56 115 0]"
    )]
    MissingMagic,
    /// The envelope (`runtime.Unknown`) or the object lacks apiVersion or kind.
    #[error("object has no {0}")]
    MissingTypeMeta(&'static str),
    /// Kubernetes has no protobuf form for this kind (custom resources, or a kind unknown to this
    /// build): the server should answer with JSON instead (406 for Accept, 415 for Content-Type).
    #[error("no protobuf serialization for {api_version}, Kind={kind}")]
    NotProtobufKind { api_version: String, kind: String },
    /// The envelope declares a content encoding or type this crate does not handle.
    #[error("unsupported {what} {value:?} in protobuf envelope")]
    UnsupportedEnvelope { what: &'static str, value: String },
    /// Malformed protobuf bytes.
    #[error("invalid protobuf at {path}: {source}")]
    Wire {
        path: String,
        #[source]
        source: WireError,
    },
    /// A field whose wire type or JSON type does not fit the schema.
    #[error("at {path}: expected {expected}, found {found}")]
    Type {
        path: String,
        expected: &'static str,
        found: String,
    },
    /// A value of the right type that cannot be converted (a bad timestamp, base64, duration, UTF-8).
    #[error("at {path}: {reason}")]
    Value { path: String, reason: String },
    /// An embedded JSON document (RawExtension, FieldsV1, apiextensions JSON) that is not JSON.
    #[error("at {path}: embedded JSON: {source}")]
    EmbeddedJson {
        path: String,
        #[source]
        source: serde_json::Error,
    },
    /// A watch frame whose length prefix does not match its size.
    #[error("watch frame length {declared} does not match the {actual} bytes that follow")]
    Frame { declared: usize, actual: usize },
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The JSON path of the value being transcoded, kept as a string that grows and shrinks as the
/// transcoder descends, so errors can name the field without allocating on the happy path.
#[derive(Debug, Default)]
pub(crate) struct Path(String, usize);

/// How deep messages may nest. Protobuf nests by length prefix, so a small hostile body can nest very
/// deeply; this bounds the transcoder's recursion (and its stack) well above any real object's depth.
pub(crate) const MAX_DEPTH: usize = 256;

impl Path {
    /// Runs `f` one message deeper, failing past [`MAX_DEPTH`].
    pub(crate) fn nested<T>(&mut self, f: impl FnOnce(&mut Self) -> Result<T>) -> Result<T> {
        if self.1 >= MAX_DEPTH {
            return Err(self.value_error(format!("messages nest deeper than {MAX_DEPTH} levels")));
        }
        self.1 += 1;
        let out = f(self);
        self.1 -= 1;
        out
    }

    /// Runs `f` with `.name` appended to the path.
    pub(crate) fn field<T>(&mut self, name: &str, f: impl FnOnce(&mut Self) -> T) -> T {
        let len = self.0.len();
        if !name.is_empty() {
            self.0.push('.');
            self.0.push_str(name);
        }
        let out = f(self);
        self.0.truncate(len);
        out
    }

    /// Runs `f` with `[i]` (or `[key]`) appended to the path.
    pub(crate) fn index<T>(
        &mut self,
        index: impl std::fmt::Display,
        f: impl FnOnce(&mut Self) -> T,
    ) -> T {
        let len = self.0.len();
        self.0.push_str(&format!("[{index}]"));
        let out = f(self);
        self.0.truncate(len);
        out
    }

    pub(crate) fn get(&self) -> String {
        if self.0.is_empty() {
            ".".to_owned()
        } else {
            self.0.clone()
        }
    }

    pub(crate) fn wire(&self, source: WireError) -> Error {
        Error::Wire {
            path: self.get(),
            source,
        }
    }

    pub(crate) fn type_error(&self, expected: &'static str, found: impl Into<String>) -> Error {
        Error::Type {
            path: self.get(),
            expected,
            found: found.into(),
        }
    }

    pub(crate) fn value_error(&self, reason: impl Into<String>) -> Error {
        Error::Value {
            path: self.get(),
            reason: reason.into(),
        }
    }
}
