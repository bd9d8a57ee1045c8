//! Authentication: who is calling. Owns the request authenticator (x509 client certificates, then
//! bearer tokens), the token-file authenticator and the hook ([`TokenAuthenticator`]) through
//! which later token kinds (ServiceAccount tokens) plug in.
//!
//! It follows upstream's union of request authenticators:
//! - **x509**: the leaf of the client's chain, already verified by rustls against the client CA
//!   during the handshake ([`crate::pki::Pki::server_config`]), gives the user name from the
//!   subject's CN (the last one, as Go reads it), the groups from every O, and the UID from the
//!   `1.3.6.1.4.1.57683.2` attribute (`AllowParsingUserUIDFromCertAuth`, on by default since
//!   1.34). A certificate without a CN authenticates nobody; one outside its validity period is an
//!   error (it may have expired since the handshake).
//! - **bearer token**: `Authorization: Bearer <token>` (scheme case-insensitive), offered to each
//!   [`TokenAuthenticator`] in turn; a token none of them knows is an error ("invalid bearer
//!   token"), while a header that is not a bearer header is ignored.
//!
//! The first method that yields a user wins. A user that does not already carry
//! `system:authenticated` (or `system:unauthenticated`) gets `system:authenticated`, as upstream's
//! `AuthenticatedGroupAdder`. No credentials at all is `Ok(None)`; what that means (401, or
//! anonymous for the health endpoints) is the HTTP layer's decision. Every error means 401.
//!
//! The token file is upstream's `--token-auth-file` format (`tokenfile.go`): CSV read like Go's
//! `encoding/csv` (quoted fields, `""` escapes, quoted fields spanning lines, empty lines skipped,
//! no comments), `token,user,uid[,"group1,group2"]`, more columns ignored. As upstream: fewer than
//! 3 columns fails the whole file; an empty token skips the record with a warning; a duplicate
//! token warns and the later record wins; an empty groups column yields one empty group.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls_pki_types::CertificateDer;
use x509_parser::time::ASN1Time;

/// The group every authenticated user is in.
pub const ALL_AUTHENTICATED: &str = "system:authenticated";
/// The group of anonymous requests.
pub const ALL_UNAUTHENTICATED: &str = "system:unauthenticated";
/// The user name of anonymous requests.
pub const ANONYMOUS: &str = "system:anonymous";
/// The subject attribute carrying a user UID in client certificates (Kubernetes' CNCF OID).
pub const X509_UID_OID: &str = "1.3.6.1.4.1.57683.2";

/// Errors of authentication. Those returned by [`Authenticator::authenticate`] all mean 401; the
/// token-file ones come from [`Authenticator::new`] at start-up.
#[derive(Debug, thiserror::Error)]
pub enum AuthnError {
    /// The token file could not be read.
    #[error("reading token file {path}: {source}")]
    TokenFileRead {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The token file is not valid CSV (Go's `encoding/csv` rules).
    #[error("token file {path}: {}parse error on line {line}, column {column}: {message}", record_prefix(*.record_line, *.line))]
    TokenFileSyntax {
        /// The file.
        path: PathBuf,
        /// The line the record starts on (1-based).
        record_line: usize,
        /// The line of the error (1-based).
        line: usize,
        /// The column of the error (1-based, in characters).
        column: usize,
        /// What is wrong, in Go's words.
        message: &'static str,
    },
    /// A token file record has fewer than 3 columns.
    #[error(
        "token file {path} must have at least 3 columns (token, user name, user uid), found {found} on line {line}"
    )]
    TokenFileColumns {
        /// The file.
        path: PathBuf,
        /// The line the record starts on (1-based).
        line: usize,
        /// How many columns it has.
        found: usize,
    },
    /// A bearer token that no token authenticator knows.
    #[error("invalid bearer token")]
    InvalidBearerToken,
    /// A token authenticator recognised the token but rejected it (expired, revoked, ...).
    #[error("{authenticator}: {reason}")]
    TokenRejected {
        /// Which token authenticator.
        authenticator: &'static str,
        /// Why.
        reason: String,
    },
    /// The client certificate could not be parsed.
    #[error("x509: parsing client certificate: {0}")]
    CertificateParse(#[source] x509_parser::nom::Err<x509_parser::error::X509Error>),
    /// The client certificate is outside its validity period.
    #[error(
        "x509: certificate has expired or is not yet valid: current time {now} is outside {not_before} - {not_after}"
    )]
    CertificateExpired {
        /// When the check ran.
        now: ASN1Time,
        /// Start of validity.
        not_before: ASN1Time,
        /// End of validity.
        not_after: ASN1Time,
    },
    /// The client certificate's UID attribute is repeated, empty or not a string.
    #[error("x509: {0}")]
    CertificateUid(String),
}

fn record_prefix(record_line: usize, line: usize) -> String {
    if record_line == line {
        String::new()
    } else {
        format!("record on line {record_line}; ")
    }
}

/// An authenticated user, as upstream's `user.Info`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserInfo {
    /// The user name.
    pub name: String,
    /// A unique identifier (may be empty).
    pub uid: String,
    /// The groups.
    pub groups: Vec<String>,
    /// Extra attributes.
    pub extra: BTreeMap<String, Vec<String>>,
}

impl UserInfo {
    /// The anonymous user: `system:anonymous` in `system:unauthenticated`.
    pub fn anonymous() -> Self {
        UserInfo {
            name: ANONYMOUS.to_owned(),
            groups: vec![ALL_UNAUTHENTICATED.to_owned()],
            ..UserInfo::default()
        }
    }

    /// Adds `system:authenticated` unless the user is anonymous or already carries it or
    /// `system:unauthenticated` (upstream's `AuthenticatedGroupAdder`).
    fn with_authenticated_group(mut self) -> Self {
        let has = self
            .groups
            .iter()
            .any(|g| g == ALL_AUTHENTICATED || g == ALL_UNAUTHENTICATED);
        if self.name != ANONYMOUS && !has {
            self.groups.push(ALL_AUTHENTICATED.to_owned());
        }
        self
    }
}

/// Something that maps a bearer token to a user: the token file today, ServiceAccount tokens
/// later. Implementations run on the request path, so they must not block (read caches, not
/// storage).
pub trait TokenAuthenticator: Send + Sync + fmt::Debug {
    /// The user of `token`; `Ok(None)` if the token is not one of this authenticator's, an error
    /// if it is but is unacceptable.
    fn authenticate_token(&self, token: &str) -> Result<Option<UserInfo>, AuthnError>;
}

// === impl Authenticator ===

/// The request authenticator (see the module docs).
#[derive(Debug, Clone, Default)]
pub struct Authenticator {
    token_authenticators: Vec<Arc<dyn TokenAuthenticator>>,
}

impl Authenticator {
    /// An authenticator for client certificates and, if `token_file` is given, the tokens in it.
    pub fn new(token_file: Option<&Path>) -> Result<Self, AuthnError> {
        let mut authenticator = Authenticator::default();
        if let Some(path) = token_file {
            let file = TokenFile::load(path)?;
            tracing::info!(path = %path.display(), tokens = file.len(), "loaded token auth file");
            authenticator.add_token_authenticator(Arc::new(file));
        }
        Ok(authenticator)
    }

    /// Adds a token authenticator, consulted after those already added.
    pub fn add_token_authenticator(&mut self, authenticator: Arc<dyn TokenAuthenticator>) {
        self.token_authenticators.push(authenticator);
    }

    /// Authenticates a request from its verified peer certificates (leaf first) and its
    /// `Authorization` header. `Ok(None)`: no credentials. Any error means 401.
    pub fn authenticate(
        &self,
        peer_certificates: Option<&[CertificateDer<'_>]>,
        authorization_header: Option<&http::HeaderValue>,
    ) -> Result<Option<UserInfo>, AuthnError> {
        let mut first_error = None;
        if let Some(leaf) = peer_certificates.and_then(<[_]>::first) {
            match user_from_client_certificate(leaf) {
                Ok(Some(user)) => return Ok(Some(user.with_authenticated_group())),
                Ok(None) => {}
                Err(err) => first_error = Some(err),
            }
        }
        if let Some(token) = authorization_header.and_then(bearer_token) {
            match self.authenticate_bearer(token) {
                Ok(user) => return Ok(Some(user)),
                Err(err) => {
                    if first_error.is_none() {
                        first_error = Some(err);
                    }
                }
            }
        }
        match first_error {
            Some(err) => Err(err),
            None => Ok(None),
        }
    }

    /// Authenticates a bearer token (from the `Authorization` header or, later, a WebSocket
    /// subprotocol) with each token authenticator in turn.
    pub fn authenticate_bearer(&self, token: &str) -> Result<UserInfo, AuthnError> {
        let mut first_error = None;
        for authenticator in &self.token_authenticators {
            match authenticator.authenticate_token(token) {
                Ok(Some(user)) => return Ok(user.with_authenticated_group()),
                Ok(None) => {}
                Err(err) => {
                    if first_error.is_none() {
                        first_error = Some(err);
                    }
                }
            }
        }
        Err(first_error.unwrap_or(AuthnError::InvalidBearerToken))
    }
}

/// The token of an `Authorization: Bearer <token>` header, as upstream's `bearertoken.go` reads
/// it: trimmed, scheme case-insensitive, the token ending at the next space; `None` for another
/// scheme or an empty token.
pub fn bearer_token(header: &http::HeaderValue) -> Option<&str> {
    let value = std::str::from_utf8(header.as_bytes()).ok()?.trim();
    let mut parts = value.splitn(3, ' ');
    let scheme = parts.next()?;
    let token = parts.next()?;
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// The user of a verified client certificate: CN as the name, every O as a group, the UID from
/// [`X509_UID_OID`]. `Ok(None)` if the subject has no CN.
pub fn user_from_client_certificate(
    cert: &CertificateDer<'_>,
) -> Result<Option<UserInfo>, AuthnError> {
    let (_, parsed) =
        x509_parser::parse_x509_certificate(cert).map_err(AuthnError::CertificateParse)?;
    let validity = parsed.validity();
    if !validity.is_valid() {
        return Err(AuthnError::CertificateExpired {
            now: ASN1Time::now(),
            not_before: validity.not_before,
            not_after: validity.not_after,
        });
    }
    let Some(name) = crate::pki::last_common_name(&parsed).filter(|cn| !cn.is_empty()) else {
        return Ok(None);
    };
    let mut uids = Vec::new();
    for attr in parsed.subject().iter_attributes() {
        if attr.attr_type().to_id_string() == X509_UID_OID {
            let uid = attr.as_str().map_err(|_| {
                AuthnError::CertificateUid("unable to parse UID into a string".to_owned())
            })?;
            uids.push(uid.to_owned());
        }
    }
    let uid = match uids.as_slice() {
        [] => String::new(),
        [uid] if uid.is_empty() => {
            return Err(AuthnError::CertificateUid(
                "UID cannot be an empty string".to_owned(),
            ));
        }
        [uid] => uid.clone(),
        _ => {
            return Err(AuthnError::CertificateUid(format!(
                "expected 1 UID, but found multiple: {uids:?}"
            )));
        }
    };
    Ok(Some(UserInfo {
        name,
        uid,
        groups: crate::pki::organizations_of(&parsed),
        extra: BTreeMap::new(),
    }))
}

// === impl TokenFile ===

/// The static tokens of a `--token-auth-file`.
#[derive(Clone, Default)]
pub struct TokenFile {
    tokens: HashMap<String, UserInfo>,
}

impl fmt::Debug for TokenFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenFile")
            .field("tokens", &self.tokens.len())
            .finish()
    }
}

impl TokenFile {
    /// Reads and parses the token file at `path`.
    pub fn load(path: &Path) -> Result<Self, AuthnError> {
        let bytes = std::fs::read(path).map_err(|source| AuthnError::TokenFileRead {
            path: path.to_owned(),
            source,
        })?;
        TokenFile::parse(path, &String::from_utf8_lossy(&bytes))
    }

    /// Parses token file contents; `path` is only for messages.
    pub fn parse(path: &Path, text: &str) -> Result<Self, AuthnError> {
        let mut tokens = HashMap::new();
        let records = parse_csv(text).map_err(|e| AuthnError::TokenFileSyntax {
            path: path.to_owned(),
            record_line: e.record_line,
            line: e.line,
            column: e.column,
            message: e.message,
        })?;
        for (record_number, (line, record)) in records.into_iter().enumerate() {
            let record_number = record_number + 1;
            if record.len() < 3 {
                return Err(AuthnError::TokenFileColumns {
                    path: path.to_owned(),
                    line,
                    found: record.len(),
                });
            }
            let mut fields = record.into_iter();
            let (Some(token), Some(name), Some(uid)) =
                (fields.next(), fields.next(), fields.next())
            else {
                continue;
            };
            if token.is_empty() {
                tracing::warn!(path = %path.display(), record_number, line, "empty token in token file; record skipped");
                continue;
            }
            // As Go's strings.Split: an empty column is one empty group.
            let groups = fields
                .next()
                .map(|g| g.split(',').map(str::to_owned).collect())
                .unwrap_or_default();
            let user = UserInfo {
                name,
                uid,
                groups,
                extra: BTreeMap::new(),
            };
            if tokens.insert(token, user).is_some() {
                tracing::warn!(path = %path.display(), record_number, line, "duplicate token in token file; the later record wins");
            }
        }
        Ok(TokenFile { tokens })
    }

    /// How many tokens the file holds.
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    /// Whether the file holds no token.
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }
}

impl TokenAuthenticator for TokenFile {
    fn authenticate_token(&self, token: &str) -> Result<Option<UserInfo>, AuthnError> {
        Ok(self.tokens.get(token).cloned())
    }
}

// === CSV, as Go's encoding/csv with its defaults ===

#[derive(Debug, PartialEq, Eq)]
struct CsvError {
    record_line: usize,
    line: usize,
    column: usize,
    message: &'static str,
}

const BARE_QUOTE: &str = "bare \" in non-quoted-field";
const EXTRANEOUS_QUOTE: &str = "extraneous or missing \" in quoted-field";

/// Splits `text` into lines as Go's csv reader sees them: each keeps its `\n`, `\r\n` becomes
/// `\n`, and a `\r` just before the end of the input is dropped.
fn csv_lines(text: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let (line, tail) = match rest.find('\n') {
            Some(i) => rest.split_at(i + 1),
            None => (rest, ""),
        };
        rest = tail;
        let mut line = line.to_owned();
        if line.ends_with("\r\n") {
            line.truncate(line.len() - 2);
            line.push('\n');
        } else if tail.is_empty() && line.ends_with('\r') {
            line.pop();
        }
        lines.push(line);
    }
    lines
}

/// Parses CSV records, each with the line it starts on.
fn parse_csv(text: &str) -> Result<Vec<(usize, Vec<String>)>, CsvError> {
    let lines = csv_lines(text);
    let mut records = Vec::new();
    let mut index = 0;
    while index < lines.len() {
        let record_line = index + 1;
        let mut line: &str = &lines[index];
        index += 1;
        if line == "\n" || line.is_empty() {
            continue;
        }
        let mut line_no = record_line;
        let mut fields = Vec::new();
        let mut pos = 0; // byte offset in `line`
        'fields: loop {
            let rest = &line[pos..];
            if !rest.starts_with('"') {
                let end = rest.find(',');
                let field = match end {
                    Some(i) => &rest[..i],
                    None => rest.strip_suffix('\n').unwrap_or(rest),
                };
                if let Some(q) = field.find('"') {
                    return Err(CsvError {
                        record_line,
                        line: line_no,
                        column: line[..pos + q].chars().count() + 1,
                        message: BARE_QUOTE,
                    });
                }
                fields.push(field.to_owned());
                match end {
                    Some(i) => pos += i + 1,
                    None => break 'fields,
                }
                continue;
            }
            // Quoted field.
            pos += 1;
            let mut field = String::new();
            loop {
                let rest = &line[pos..];
                if let Some(q) = rest.find('"') {
                    field.push_str(&rest[..q]);
                    pos += q + 1;
                    let after = &line[pos..];
                    if after.starts_with('"') {
                        field.push('"');
                        pos += 1;
                    } else if after.starts_with(',') {
                        pos += 1;
                        fields.push(field);
                        continue 'fields;
                    } else if after.is_empty() || after == "\n" {
                        fields.push(field);
                        break 'fields;
                    } else {
                        return Err(CsvError {
                            record_line,
                            line: line_no,
                            column: line[..pos].chars().count(),
                            message: EXTRANEOUS_QUOTE,
                        });
                    }
                } else if !rest.is_empty() && index < lines.len() {
                    // The field goes on on the next line.
                    field.push_str(rest);
                    line = &lines[index];
                    index += 1;
                    line_no += 1;
                    pos = 0;
                } else {
                    return Err(CsvError {
                        record_line,
                        line: line_no,
                        column: line.trim_end_matches('\n').chars().count() + 1,
                        message: EXTRANEOUS_QUOTE,
                    });
                }
            }
        }
        records.push((record_line, fields));
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{CertificateParams, DnType, KeyPair};

    fn parse(text: &str) -> Result<TokenFile, AuthnError> {
        TokenFile::parse(Path::new("tokens.csv"), text)
    }

    fn user(name: &str, uid: &str, groups: &[&str]) -> UserInfo {
        UserInfo {
            name: name.to_owned(),
            uid: uid.to_owned(),
            groups: groups.iter().map(|g| (*g).to_owned()).collect(),
            extra: BTreeMap::new(),
        }
    }

    #[test]
    fn token_file_good_lines() {
        // (file contents, token, expected user)
        let cases: &[(&str, &str, UserInfo)] = &[
            ("t1,alice,1\n", "t1", user("alice", "1", &[])),
            ("t1,alice,1", "t1", user("alice", "1", &[])),
            (
                "t1,alice,1,\"g1,g2\"\n",
                "t1",
                user("alice", "1", &["g1", "g2"]),
            ),
            ("t1,alice,1,g1\n", "t1", user("alice", "1", &["g1"])),
            (
                "t1,alice,1,\"g1,g2\",ignored,more\n",
                "t1",
                user("alice", "1", &["g1", "g2"]),
            ),
            // An empty groups column is one empty group, as Go's strings.Split.
            ("t1,alice,1,\n", "t1", user("alice", "1", &[""])),
            // Quoted fields, escaped quotes, CRLF, blank lines.
            (
                "\r\n\n\"t,1\",\"a \"\"b\"\"\",\"\"\r\n",
                "t,1",
                user("a \"b\"", "", &[]),
            ),
            // A quoted field spanning lines.
            (
                "t1,\"multi\nline\",1\n",
                "t1",
                user("multi\nline", "1", &[]),
            ),
            // Spaces are kept, as Go's csv does by default.
            ("t1, bob ,1\n", "t1", user(" bob ", "1", &[])),
            // A duplicate token: the later record wins.
            ("t1,alice,1\nt1,bob,2\n", "t1", user("bob", "2", &[])),
        ];
        for (text, token, want) in cases {
            let file = parse(text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
            let got = file.authenticate_token(token).unwrap();
            assert_eq!(got.as_ref(), Some(want), "{text:?}");
        }
    }

    #[test]
    fn token_file_empty_token_is_skipped() {
        let file = parse(",nobody,0\nt2,bob,2\n").unwrap();
        assert_eq!(file.len(), 1);
        assert_eq!(file.authenticate_token("").unwrap(), None);
    }

    #[test]
    fn token_file_bad_lines() {
        let cases: &[(&str, &str)] = &[
            (
                "t1,alice,1\nt2,bob\n",
                "token file tokens.csv must have at least 3 columns (token, user name, user uid), found 2 on line 2",
            ),
            (
                "\n\nonly-token\n",
                "token file tokens.csv must have at least 3 columns (token, user name, user uid), found 1 on line 3",
            ),
            (
                "t1,al\"ice,1\n",
                "token file tokens.csv: parse error on line 1, column 6: bare \" in non-quoted-field",
            ),
            (
                "t1,\"alice\"x,1\n",
                "token file tokens.csv: parse error on line 1, column 10: extraneous or missing \" in quoted-field",
            ),
            (
                "t1,alice,1\nt2,\"bob,2\nt3,carol,3\n",
                "token file tokens.csv: record on line 2; parse error on line 3, column 11: extraneous or missing \" in quoted-field",
            ),
        ];
        for (text, want) in cases {
            let err = parse(text)
                .err()
                .unwrap_or_else(|| panic!("{text:?} parsed"));
            assert_eq!(err.to_string(), *want, "{text:?}");
        }
    }

    #[test]
    fn token_file_missing_is_a_read_error() {
        let err = Authenticator::new(Some(Path::new("/nonexistent/tokens.csv"))).unwrap_err();
        assert!(matches!(err, AuthnError::TokenFileRead { .. }), "{err}");
    }

    #[test]
    fn bearer_token_header_forms() {
        let cases: &[(&str, Option<&str>)] = &[
            ("Bearer abc", Some("abc")),
            ("bearer abc", Some("abc")),
            ("BEARER abc extra", Some("abc")),
            ("  Bearer abc  ", Some("abc")),
            ("Bearer  abc", None),
            ("Bearer", None),
            ("Basic YWxpY2U6cHc=", None),
            ("", None),
        ];
        for (header, want) in cases {
            let value = http::HeaderValue::from_str(header).unwrap();
            assert_eq!(bearer_token(&value), *want, "{header:?}");
        }
    }

    fn authenticator() -> Authenticator {
        let mut a = Authenticator::default();
        let file =
            parse("secret,alice,42,\"dev,ops\"\nroot,root,0,system:authenticated\n").unwrap();
        a.add_token_authenticator(Arc::new(file));
        a
    }

    fn header(value: &str) -> http::HeaderValue {
        http::HeaderValue::from_str(value).unwrap()
    }

    #[test]
    fn no_credentials_is_anonymous() {
        let a = authenticator();
        assert_eq!(a.authenticate(None, None).unwrap(), None);
        assert_eq!(
            a.authenticate(Some(&[]), Some(&header("Basic x"))).unwrap(),
            None
        );
    }

    #[test]
    fn bearer_tokens_authenticate_or_fail() {
        let a = authenticator();
        let got = a
            .authenticate(None, Some(&header("Bearer secret")))
            .unwrap();
        assert_eq!(
            got,
            Some(user("alice", "42", &["dev", "ops", ALL_AUTHENTICATED]))
        );
        // system:authenticated is not added twice.
        let got = a.authenticate(None, Some(&header("Bearer root"))).unwrap();
        assert_eq!(got, Some(user("root", "0", &[ALL_AUTHENTICATED])));
        let err = a
            .authenticate(None, Some(&header("Bearer wrong")))
            .unwrap_err();
        assert!(matches!(err, AuthnError::InvalidBearerToken), "{err}");
        // Without any token authenticator every bearer token is invalid.
        let err = Authenticator::new(None)
            .unwrap()
            .authenticate(None, Some(&header("Bearer secret")))
            .unwrap_err();
        assert_eq!(err.to_string(), "invalid bearer token");
    }

    #[derive(Debug)]
    struct Rejecting;

    impl TokenAuthenticator for Rejecting {
        fn authenticate_token(&self, token: &str) -> Result<Option<UserInfo>, AuthnError> {
            match token {
                "sa-expired" => Err(AuthnError::TokenRejected {
                    authenticator: "serviceaccount",
                    reason: "token has expired".to_owned(),
                }),
                "sa-good" => Ok(Some(user("system:serviceaccount:default:x", "u", &[]))),
                _ => Ok(None),
            }
        }
    }

    #[test]
    fn token_authenticator_hook_is_consulted_in_order() {
        let mut a = authenticator();
        a.add_token_authenticator(Arc::new(Rejecting));
        let got = a.authenticate_bearer("sa-good").unwrap();
        assert_eq!(got.groups, [ALL_AUTHENTICATED]);
        assert_eq!(a.authenticate_bearer("secret").unwrap().name, "alice");
        let err = a.authenticate_bearer("sa-expired").unwrap_err();
        assert_eq!(err.to_string(), "serviceaccount: token has expired");
        assert!(matches!(
            a.authenticate_bearer("nope"),
            Err(AuthnError::InvalidBearerToken)
        ));
    }

    /// A certificate with exactly `subject` (attribute OID contents, value), repeats included.
    fn cert(subject: &[(&[u8], &str)]) -> CertificateDer<'static> {
        let key = KeyPair::generate().unwrap();
        let placeholder = CertificateParams::default().self_signed(&key).unwrap();
        let name = crate::pki::der::name(subject);
        let der = crate::pki::der::with_subject(placeholder.der(), &name, &key)
            .unwrap()
            .unwrap();
        CertificateDer::from(der)
    }

    const CN: &[u8] = crate::pki::der::OID_COMMON_NAME;
    const O: &[u8] = crate::pki::der::OID_ORGANIZATION;
    /// 1.3.6.1.4.1.57683.2
    const UID: &[u8] = &[0x2b, 0x06, 0x01, 0x04, 0x01, 0x83, 0xc2, 0x53, 0x02];

    #[test]
    fn client_certificates_give_cn_and_organizations() {
        let a = authenticator();
        let leaf = cert(&[(O, "system:masters"), (O, "dev"), (CN, "system:admin")]);
        let got = a
            .authenticate(Some(std::slice::from_ref(&leaf)), None)
            .unwrap();
        assert_eq!(
            got,
            Some(user(
                "system:admin",
                "",
                &["system:masters", "dev", ALL_AUTHENTICATED]
            ))
        );
        // The certificate wins over a (even invalid) bearer token.
        let got = a
            .authenticate(Some(&[leaf]), Some(&header("Bearer wrong")))
            .unwrap();
        assert_eq!(got.map(|u| u.name).as_deref(), Some("system:admin"));
    }

    #[test]
    fn client_certificate_uid_attribute() {
        let leaf = cert(&[(CN, "ada"), (UID, "1042")]);
        let got = user_from_client_certificate(&leaf).unwrap().unwrap();
        assert_eq!((got.name.as_str(), got.uid.as_str()), ("ada", "1042"));

        let leaf = cert(&[(CN, "ada"), (UID, "")]);
        let err = user_from_client_certificate(&leaf).unwrap_err();
        assert_eq!(err.to_string(), "x509: UID cannot be an empty string");

        // Go reads the last CN.
        let leaf = cert(&[(CN, "first"), (CN, "last")]);
        let got = user_from_client_certificate(&leaf).unwrap().unwrap();
        assert_eq!(got.name, "last");

        let leaf = cert(&[(CN, "ada"), (UID, "1"), (UID, "2")]);
        let err = user_from_client_certificate(&leaf).unwrap_err();
        assert!(err.to_string().contains("expected 1 UID"), "{err}");
    }

    #[test]
    fn client_certificate_without_cn_falls_through() {
        let a = authenticator();
        let leaf = cert(&[(O, "dev")]);
        assert_eq!(
            a.authenticate(Some(std::slice::from_ref(&leaf)), None)
                .unwrap(),
            None
        );
        let got = a
            .authenticate(Some(&[leaf]), Some(&header("Bearer secret")))
            .unwrap();
        assert_eq!(got.map(|u| u.name).as_deref(), Some("alice"));
    }

    #[test]
    fn expired_client_certificate_is_an_error() {
        let mut params = CertificateParams::default();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params.distinguished_name.push(DnType::CommonName, "old");
        params.not_before = rcgen::date_time_ymd(2000, 1, 1);
        params.not_after = rcgen::date_time_ymd(2001, 1, 1);
        let key = KeyPair::generate().unwrap();
        let leaf = params.self_signed(&key).unwrap().der().clone();
        let err = authenticator()
            .authenticate(Some(&[leaf]), None)
            .unwrap_err();
        assert!(
            matches!(err, AuthnError::CertificateExpired { .. }),
            "{err}"
        );
    }
}
