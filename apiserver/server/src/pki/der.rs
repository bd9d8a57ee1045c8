//! Just enough DER to give a certificate a subject rcgen cannot express.
//!
//! rcgen's `DistinguishedName` holds one value per attribute type, but Kubernetes reads a client
//! certificate's groups from *every* `O` attribute. So a client certificate is signed by rcgen
//! with a placeholder subject, then its `TBSCertificate` gets the real subject (one RDN per `O`,
//! then the `CN`, the order Go's `crypto/x509` writes them) and is signed again with the CA key.

use rcgen::SigningKey;

const SEQUENCE: u8 = 0x30;
const SET: u8 = 0x31;
const OID: u8 = 0x06;
const UTF8_STRING: u8 = 0x0c;
const BIT_STRING: u8 = 0x03;
/// 2.5.4.3, commonName.
pub(crate) const OID_COMMON_NAME: &[u8] = &[0x55, 0x04, 0x03];
/// 2.5.4.10, organizationName.
pub(crate) const OID_ORGANIZATION: &[u8] = &[0x55, 0x04, 0x0a];

/// One DER element: the whole encoding and its contents.
struct Tlv<'a> {
    whole: &'a [u8],
    contents: &'a [u8],
}

/// Reads the element at the start of `input`; returns it and what follows.
fn read_tlv(input: &[u8]) -> Option<(Tlv<'_>, &[u8])> {
    let (&_tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > std::mem::size_of::<usize>() || rest.len() < n {
            return None;
        }
        let (bytes, rest) = rest.split_at(n);
        let len = bytes
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (len, rest)
    };
    if rest.len() < len {
        return None;
    }
    let header = input.len() - rest.len();
    let (contents, after) = rest.split_at(len);
    Some((
        Tlv {
            whole: &input[..header + len],
            contents,
        },
        after,
    ))
}

fn write_tlv(tag: u8, contents: &[u8], out: &mut Vec<u8>) {
    out.push(tag);
    let len = contents.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(contents);
}

fn tlv(tag: u8, contents: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(contents.len() + 4);
    write_tlv(tag, contents, &mut out);
    out
}

/// A DER `Name` with one RDN per `(attribute type OID contents, UTF-8 value)`, in order.
pub(crate) fn name(attributes: &[(&[u8], &str)]) -> Vec<u8> {
    let mut rdns = Vec::new();
    for (oid, value) in attributes {
        let mut atv = tlv(OID, oid);
        write_tlv(UTF8_STRING, value.as_bytes(), &mut atv);
        rdns.extend(tlv(SET, &tlv(SEQUENCE, &atv)));
    }
    tlv(SEQUENCE, &rdns)
}

/// The subject `O=<org>...,CN=<common_name>` of a client certificate.
pub(super) fn client_subject(organizations: &[String], common_name: &str) -> Vec<u8> {
    let attributes: Vec<(&[u8], &str)> = organizations
        .iter()
        .map(|org| (OID_ORGANIZATION, org.as_str()))
        .chain([(OID_COMMON_NAME, common_name)])
        .collect();
    name(&attributes)
}

/// Replaces the subject of `cert` (DER, as rcgen made it) with `subject` and signs it again with
/// `key`, the issuer's key. `None` if `cert` is not shaped like an X.509 v3 certificate.
pub(crate) fn with_subject(
    cert: &[u8],
    subject: &[u8],
    key: &impl SigningKey,
) -> Option<Result<Vec<u8>, rcgen::Error>> {
    let (certificate, _) = read_tlv(cert)?;
    let (tbs, rest) = read_tlv(certificate.contents)?;
    let (signature_algorithm, _) = read_tlv(rest)?;

    // TBSCertificate: [0] version, serial, signature, issuer, validity, subject, ...
    let mut fields = Vec::new();
    let mut rest = tbs.contents;
    while !rest.is_empty() {
        let (field, after) = read_tlv(rest)?;
        fields.push(field.whole);
        rest = after;
    }
    if fields.first()?.first() != Some(&0xa0) || fields.len() < 7 {
        return None;
    }
    fields[5] = subject;
    let new_tbs = tlv(SEQUENCE, &fields.concat());

    Some(key.sign(&new_tbs).map(|signature| {
        let mut bits = Vec::with_capacity(signature.len() + 1);
        bits.push(0); // no unused bits
        bits.extend_from_slice(&signature);
        let mut body = new_tbs;
        body.extend_from_slice(signature_algorithm.whole);
        write_tlv(BIT_STRING, &bits, &mut body);
        tlv(SEQUENCE, &body)
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lengths_round_trip() {
        for len in [0usize, 1, 127, 128, 255, 256, 70_000] {
            let contents = vec![7u8; len];
            let encoded = tlv(SEQUENCE, &contents);
            let (read, rest) = read_tlv(&encoded).unwrap();
            assert_eq!(read.contents.len(), len);
            assert_eq!(read.whole.len(), encoded.len());
            assert!(rest.is_empty());
        }
    }

    #[test]
    fn truncated_input_is_rejected() {
        assert!(read_tlv(&[SEQUENCE, 5, 1, 2]).is_none());
        assert!(read_tlv(&[SEQUENCE, 0x82, 1]).is_none());
        assert!(read_tlv(&[]).is_none());
    }

    #[test]
    fn client_subject_parses_as_go_would_read_it() {
        let der = client_subject(&["a".to_owned(), "b".to_owned()], "alice");
        use x509_parser::prelude::FromDer as _;
        let (_, name) = x509_parser::x509::X509Name::from_der(&der).unwrap();
        let orgs: Vec<_> = name
            .iter_organization()
            .map(|o| o.as_str().unwrap())
            .collect();
        assert_eq!(orgs, ["a", "b"]);
        let cn: Vec<_> = name
            .iter_common_name()
            .map(|o| o.as_str().unwrap())
            .collect();
        assert_eq!(cn, ["alice"]);
    }
}
