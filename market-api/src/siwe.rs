//! Sign-In with Ethereum (EIP-4361), parsed strictly and verified with secp256k1 recovery.
//!
//! The message must be exactly the EIP-4361 text: the domain this server is configured with,
//! an EIP-55 checksummed address, an optional statement, `URI` on that domain, `Version: 1`,
//! this deployment's chain id, a nonce this server issued (single use, short-lived), `Issued
//! At` not in the future, and an `Expiration Time` / `Not Before` window that contains now.
//! The signature is an EIP-191 `personal_sign` over the message bytes, recovered to the
//! address the message names. Smart-contract wallets (EIP-1271) are not accepted.

use alloy::primitives::{Address, Signature};

/// Longest message accepted (the spec has no limit; real messages are a few hundred bytes).
pub const MAX_MESSAGE_BYTES: usize = 4096;
/// Clock skew tolerated on `Issued At` and `Not Before`.
pub const CLOCK_SKEW_SECS: i64 = 60;

/// Why a SIWE message or signature is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SiweError {
    #[error("SIWE message too long (over {MAX_MESSAGE_BYTES} bytes)")]
    TooLong,
    #[error("malformed SIWE message: {0}")]
    Malformed(String),
    #[error("SIWE domain {got:?} is not this server ({want:?})")]
    WrongDomain { got: String, want: String },
    #[error("SIWE URI {0:?} is not on this server's domain")]
    WrongUri(String),
    #[error("SIWE chain id {got} is not this deployment's ({want})")]
    WrongChain { got: u64, want: u64 },
    #[error("SIWE message is not valid yet")]
    NotYetValid,
    #[error("SIWE message has expired")]
    Expired,
    #[error("signature is malformed")]
    BadSignature,
    #[error("signature does not recover to {0}")]
    WrongSigner(Address),
}

/// A parsed EIP-4361 message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiweMessage {
    pub scheme: Option<String>,
    pub domain: String,
    pub address: Address,
    pub statement: Option<String>,
    pub uri: String,
    pub chain_id: u64,
    pub nonce: String,
    /// Unix seconds.
    pub issued_at: i64,
    pub expiration_time: Option<i64>,
    pub not_before: Option<i64>,
    pub request_id: Option<String>,
    pub resources: Vec<String>,
}

const PREAMBLE: &str = " wants you to sign in with your Ethereum account:";

fn malformed(s: impl Into<String>) -> SiweError {
    SiweError::Malformed(s.into())
}

/// The first line: `[scheme://]domain` followed by the preamble.
fn parse_authority(first: &str) -> Result<(Option<String>, String), SiweError> {
    let authority = first
        .strip_suffix(PREAMBLE)
        .ok_or_else(|| malformed("first line must end with the EIP-4361 preamble"))?;
    let (scheme, domain) = match authority.split_once("://") {
        Some((s, d)) => (Some(s.to_owned()), d.to_owned()),
        None => (None, authority.to_owned()),
    };
    if domain.is_empty() || domain.chars().any(|c| c.is_whitespace() || c == '/') {
        return Err(malformed("bad domain"));
    }
    Ok((scheme, domain))
}

/// The value of a `Name: value` line.
fn field(line: &str, name: &str) -> Result<String, SiweError> {
    line.strip_prefix(name)
        .and_then(|r| r.strip_prefix(": "))
        .map(str::to_owned)
        .ok_or_else(|| malformed(format!("expected \"{name}: \"")))
}

/// A chain id: decimal digits without leading zeros.
fn parse_chain_id(text: &str) -> Result<u64, SiweError> {
    if text.is_empty()
        || !text.bytes().all(|b| b.is_ascii_digit())
        || (text.len() > 1 && text.starts_with('0'))
    {
        return Err(malformed("bad Chain ID"));
    }
    text.parse::<u64>().map_err(|_| malformed("bad Chain ID"))
}

impl SiweMessage {
    /// Parses `text` strictly: every line in its place, nothing unknown, nothing left over.
    pub fn parse(text: &str) -> Result<Self, SiweError> {
        if text.len() > MAX_MESSAGE_BYTES {
            return Err(SiweError::TooLong);
        }
        if text.contains('\r') {
            return Err(malformed("lines must end with LF only"));
        }
        let lines: Vec<&str> = text.split('\n').collect();
        let mut at = 0usize;
        let mut next = |what: &str| -> Result<&str, SiweError> {
            let line = lines
                .get(at)
                .copied()
                .ok_or_else(|| malformed(format!("missing {what}")))?;
            at += 1;
            Ok(line)
        };
        let (scheme, domain) = parse_authority(next("preamble")?)?;
        let addr_line = next("address")?;
        let address = parse_checksummed(addr_line)?;
        if !next("blank line")?.is_empty() {
            return Err(malformed("expected a blank line after the address"));
        }
        let mut statement = None;
        let line = next("URI")?;
        if !line.is_empty() {
            if line.contains('\n') || line.starts_with("URI: ") {
                return Err(malformed("expected a statement then a blank line"));
            }
            statement = Some(line.to_owned());
            if !next("blank line")?.is_empty() {
                return Err(malformed("expected a blank line after the statement"));
            }
        }
        let uri = field(next("URI")?, "URI")?;
        if uri.is_empty() || uri.contains(char::is_whitespace) || !uri.contains(':') {
            return Err(malformed("bad URI"));
        }
        if field(next("Version")?, "Version")? != "1" {
            return Err(malformed("Version must be 1"));
        }
        let chain_id = parse_chain_id(&field(next("Chain ID")?, "Chain ID")?)?;
        let nonce = field(next("Nonce")?, "Nonce")?;
        if nonce.len() < 8 || nonce.len() > 64 || !nonce.bytes().all(|b| b.is_ascii_alphanumeric())
        {
            return Err(malformed("Nonce must be 8 to 64 letters or digits"));
        }
        let issued_at = parse_rfc3339(&field(next("Issued At")?, "Issued At")?)?;
        let mut msg = SiweMessage {
            scheme,
            domain,
            address,
            statement,
            uri,
            chain_id,
            nonce,
            issued_at,
            expiration_time: None,
            not_before: None,
            request_id: None,
            resources: Vec::new(),
        };
        msg.parse_optional_fields(&lines[at..])?;
        Ok(msg)
    }

    /// The optional fields after `Issued At`, in the order the spec fixes; nothing may follow.
    fn parse_optional_fields(&mut self, rest: &[&str]) -> Result<(), SiweError> {
        let mut i = 0;
        if let Some(v) = rest
            .get(i)
            .and_then(|l| l.strip_prefix("Expiration Time: "))
        {
            self.expiration_time = Some(parse_rfc3339(v)?);
            i += 1;
        }
        if let Some(v) = rest.get(i).and_then(|l| l.strip_prefix("Not Before: ")) {
            self.not_before = Some(parse_rfc3339(v)?);
            i += 1;
        }
        if let Some(v) = rest.get(i).and_then(|l| l.strip_prefix("Request ID: ")) {
            self.request_id = Some(v.to_owned());
            i += 1;
        }
        if rest.get(i) == Some(&"Resources:") {
            i += 1;
            while let Some(r) = rest.get(i).and_then(|l| l.strip_prefix("- ")) {
                if r.is_empty() || r.contains(char::is_whitespace) {
                    return Err(malformed("bad resource"));
                }
                self.resources.push(r.to_owned());
                i += 1;
            }
        }
        if i != rest.len() {
            return Err(malformed(format!(
                "unexpected line {:?}",
                rest[i].chars().take(40).collect::<String>()
            )));
        }
        Ok(())
    }

    /// Checks the message against this server (domain, chain) and the clock `now` (unix s).
    pub fn check(&self, domain: &str, chain_id: u64, now: i64) -> Result<(), SiweError> {
        if self.domain != domain {
            return Err(SiweError::WrongDomain {
                got: self.domain.clone(),
                want: domain.to_owned(),
            });
        }
        let uri_authority = self
            .uri
            .split_once("://")
            .map(|(_, rest)| rest.split(['/', '?', '#']).next().unwrap_or(""));
        if uri_authority != Some(domain) {
            return Err(SiweError::WrongUri(self.uri.clone()));
        }
        if self.chain_id != chain_id {
            return Err(SiweError::WrongChain {
                got: self.chain_id,
                want: chain_id,
            });
        }
        if self.issued_at > now + CLOCK_SKEW_SECS {
            return Err(SiweError::NotYetValid);
        }
        if let Some(nb) = self.not_before {
            if nb > now + CLOCK_SKEW_SECS {
                return Err(SiweError::NotYetValid);
            }
        }
        if let Some(exp) = self.expiration_time {
            if exp <= now {
                return Err(SiweError::Expired);
            }
        }
        Ok(())
    }
}

/// Parses a 65-byte signature given as hex (`0x` optional).
pub fn parse_signature(signature_hex: &str) -> Result<Signature, SiweError> {
    let hex_text = signature_hex.strip_prefix("0x").unwrap_or(signature_hex);
    if hex_text.len() != 130 {
        return Err(SiweError::BadSignature);
    }
    let bytes = hex::decode(hex_text).map_err(|_| SiweError::BadSignature)?;
    Signature::try_from(bytes.as_slice()).map_err(|_| SiweError::BadSignature)
}

/// Recovers the EIP-191 signer of `message` from a 65-byte hex signature and checks it is
/// `expected`.
pub fn verify_signature(
    message: &str,
    signature_hex: &str,
    expected: Address,
) -> Result<(), SiweError> {
    let sig = parse_signature(signature_hex)?;
    let signer = sig
        .recover_address_from_msg(message.as_bytes())
        .map_err(|_| SiweError::BadSignature)?;
    if signer != expected {
        return Err(SiweError::WrongSigner(expected));
    }
    Ok(())
}

fn parse_checksummed(text: &str) -> Result<Address, SiweError> {
    Address::parse_checksummed(text, None)
        .map_err(|_| malformed("address must be 0x + 40 hex digits in EIP-55 checksum case"))
}

/// Parses an RFC 3339 date-time (`2026-11-21T07:00:00Z`, fractional seconds and numeric
/// offsets allowed) to unix seconds.
pub fn parse_rfc3339(s: &str) -> Result<i64, SiweError> {
    let bad = || {
        malformed(format!(
            "bad RFC 3339 time {:?}",
            s.chars().take(40).collect::<String>()
        ))
    };
    let b = s.as_bytes();
    // Every valid RFC 3339 time is ASCII; checking it first also keeps the slicing below on
    // character boundaries (a multi-byte character is a client's mistake, never a panic).
    if !s.is_ascii()
        || b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || !(b[10] == b'T' || b[10] == b't')
        || b[13] != b':'
        || b[16] != b':'
    {
        return Err(bad());
    }
    let num = |r: std::ops::Range<usize>| -> Result<i64, SiweError> {
        let part = &s[r];
        if !part.bytes().all(|c| c.is_ascii_digit()) {
            return Err(bad());
        }
        part.parse::<i64>().map_err(|_| bad())
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, min, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let mut i = 19;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == start {
            return Err(bad());
        }
    }
    let offset = match b.get(i) {
        Some(b'Z') | Some(b'z') if i + 1 == b.len() => 0,
        Some(sign @ (b'+' | b'-')) if i + 6 == b.len() && b[i + 3] == b':' => {
            let (oh, om) = (num(i + 1..i + 3)?, num(i + 4..i + 6)?);
            if oh > 23 || om > 59 {
                return Err(bad());
            }
            let o = oh * 3600 + om * 60;
            if *sign == b'+' {
                o
            } else {
                -o
            }
        }
        _ => return Err(bad()),
    };
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return Err(bad()),
    };
    if day < 1 || day > days_in_month || hour > 23 || min > 59 || sec > 60 {
        return Err(bad());
    }
    Ok(days_from_civil(year, month, day) * 86_400 + hour * 3600 + min * 60 + sec - offset)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Formats unix seconds as RFC 3339 UTC (`YYYY-MM-DDTHH:MM:SSZ`): for messages built in tests
/// and clients.
pub fn format_rfc3339(t: i64) -> String {
    let days = t.div_euclid(86_400);
    let secs = t.rem_euclid(86_400);
    // Inverse of days_from_civil.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// Builds the EIP-4361 text of a message (what a wallet is asked to sign).
pub fn render(m: &SiweMessage) -> String {
    let mut s = String::new();
    if let Some(scheme) = &m.scheme {
        s.push_str(scheme);
        s.push_str("://");
    }
    s.push_str(&m.domain);
    s.push_str(PREAMBLE);
    s.push('\n');
    s.push_str(&m.address.to_checksum(None));
    // EIP-4361: address LF LF [statement LF] LF "URI: ".
    s.push_str("\n\n");
    if let Some(st) = &m.statement {
        s.push_str(st);
        s.push('\n');
    }
    s.push('\n');
    s.push_str(&format!(
        "URI: {}\nVersion: 1\nChain ID: {}\nNonce: {}\nIssued At: {}",
        m.uri,
        m.chain_id,
        m.nonce,
        format_rfc3339(m.issued_at)
    ));
    if let Some(e) = m.expiration_time {
        s.push_str(&format!("\nExpiration Time: {}", format_rfc3339(e)));
    }
    if let Some(n) = m.not_before {
        s.push_str(&format!("\nNot Before: {}", format_rfc3339(n)));
    }
    if let Some(r) = &m.request_id {
        s.push_str(&format!("\nRequest ID: {r}"));
    }
    if !m.resources.is_empty() {
        s.push_str("\nResources:");
        for r in &m.resources {
            s.push_str("\n- ");
            s.push_str(r);
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Security review (ac16717) finding 11: a multi-byte character where the seconds are
    /// sliced panicked (before any signature check); it must be a plain parse error.
    #[test]
    fn a_multi_byte_character_in_a_time_is_an_error_not_a_panic() {
        for s in [
            "2023-11-14T22:13:2\u{e9}Z",
            "2023-11-14T22:1\u{e9}:20Z",
            "\u{e9}023-11-14T22:13:20Z",
            "2023-11-14T22:13:20.\u{e9}Z",
            "2023-11-14T22:13:20+0\u{e9}:00",
        ] {
            let got = std::panic::catch_unwind(|| parse_rfc3339(s));
            assert!(matches!(got, Ok(Err(_))), "{s:?}");
        }
        assert_eq!(
            parse_rfc3339("2023-11-14T22:13:20Z").unwrap(),
            1_700_000_000
        );
    }

    fn sample() -> SiweMessage {
        SiweMessage {
            scheme: None,
            domain: "127.0.0.1:8080".into(),
            address: "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
                .parse()
                .unwrap(),
            statement: Some("Sign in to the ddrm market.".into()),
            uri: "http://127.0.0.1:8080/v1/auth/verify".into(),
            chain_id: 20,
            nonce: "abcdef0123456789".into(),
            issued_at: 1_700_000_000,
            expiration_time: Some(1_700_000_600),
            not_before: None,
            request_id: None,
            resources: vec!["ipfs://bafy".into()],
        }
    }

    #[test]
    fn render_then_parse_round_trips() {
        let m = sample();
        assert_eq!(SiweMessage::parse(&render(&m)).unwrap(), m);
        let mut no_statement = sample();
        no_statement.statement = None;
        no_statement.resources.clear();
        let text = render(&no_statement);
        assert!(text.contains("2266\n\n\nURI: "), "{text}");
        assert_eq!(SiweMessage::parse(&text).unwrap(), no_statement);
    }

    #[test]
    fn strict_parsing_refuses_deviations() {
        let text = render(&sample());
        for bad in [
            text.replace("Version: 1", "Version: 2"),
            text.replace(
                "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
                "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266",
            ),
            text.replace("Chain ID: 20", "Chain ID: 020"),
            text.replace("Nonce: abcdef0123456789", "Nonce: short"),
            text.replace("2023-11-14T22:13:20Z", "2023-11-14 22:13:20Z"),
            text.replace("2023-11-14T22:13:20Z", "2023-02-30T22:13:20Z"),
            format!("{text}\nextra"),
            text.replace('\n', "\r\n"),
            text.replace(" wants you", " want you"),
        ] {
            assert!(SiweMessage::parse(&bad).is_err(), "accepted: {bad}");
        }
        assert_eq!(
            SiweMessage::parse(&"x".repeat(5000)),
            Err(SiweError::TooLong)
        );
    }

    #[test]
    fn checks_domain_uri_chain_and_time() {
        let m = sample();
        let now = 1_700_000_100;
        m.check("127.0.0.1:8080", 20, now).unwrap();
        assert!(matches!(
            m.check("evil.example", 20, now),
            Err(SiweError::WrongDomain { .. })
        ));
        assert!(matches!(
            m.check("127.0.0.1:8080", 21, now),
            Err(SiweError::WrongChain { .. })
        ));
        assert_eq!(
            m.check("127.0.0.1:8080", 20, 1_700_000_600),
            Err(SiweError::Expired)
        );
        assert_eq!(
            m.check("127.0.0.1:8080", 20, 1_699_000_000),
            Err(SiweError::NotYetValid)
        );
        let mut other_uri = sample();
        other_uri.uri = "http://evil.example/".into();
        assert!(matches!(
            other_uri.check("127.0.0.1:8080", 20, now),
            Err(SiweError::WrongUri(_))
        ));
    }

    #[test]
    fn rfc3339_round_trips_and_takes_offsets() {
        for t in [0, 951_782_400, 1_700_000_000, 4_102_444_799] {
            assert_eq!(parse_rfc3339(&format_rfc3339(t)).unwrap(), t);
        }
        assert_eq!(
            parse_rfc3339("2023-11-14T23:13:20.123+01:00").unwrap(),
            1_700_000_000
        );
    }

    #[test]
    fn signature_recovers_the_signer() {
        use alloy::signers::{local::PrivateKeySigner, SignerSync};
        let key = PrivateKeySigner::random();
        let mut m = sample();
        m.address = key.address();
        let text = render(&m);
        let sig = key.sign_message_sync(text.as_bytes()).unwrap();
        let hex_sig = format!("0x{}", hex::encode(sig.as_bytes()));
        verify_signature(&text, &hex_sig, key.address()).unwrap();
        let other = PrivateKeySigner::random().address();
        assert_eq!(
            verify_signature(&text, &hex_sig, other),
            Err(SiweError::WrongSigner(other))
        );
        assert_eq!(
            verify_signature(&text, "0x1234", other),
            Err(SiweError::BadSignature)
        );
    }
}
