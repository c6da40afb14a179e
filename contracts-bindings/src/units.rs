//! Parsing of what people type: amounts in whole token units, periods, royalty splits, content ids.

use alloy::primitives::{utils::format_units, Address, U256};

/// Royalty shares per content (10,000 = 100 %).
pub const TOTAL_SHARES: u32 = 10_000;

/// Why a typed value was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InputError {
    #[error("amount {0:?} is not a decimal number of whole token units (e.g. 1.5)")]
    Amount(String),
    #[error("period {0:?} is not a duration such as 3600, 90m, 12h, 7d or 4w")]
    Period(String),
    #[error("split entry {0:?} is not ADDRESS:SHARES")]
    SplitEntry(String),
    #[error("split shares sum to {0}, not {TOTAL_SHARES} (10,000 shares = 100 %)")]
    SplitSum(u64),
    #[error("split gives zero shares to {0}")]
    SplitZero(Address),
    #[error("content id {0:?} is neither 0x followed by 64 hex digits nor a decimal number")]
    ContentId(String),
    #[error(
        "metadata base {0:?} must be an http(s) URL ending in / (the contracts append \
         access/{{id}} and royalty/{{id}})"
    )]
    MetadataBase(String),
}

/// Parses `1.5` into base units of a token with `decimals` decimals (1.5 ELA = 1.5e18 wei).
/// Refuses more fractional digits than the token has rather than rounding them away.
pub fn parse_amount(text: &str, decimals: u8) -> Result<U256, InputError> {
    let bad = || InputError::Amount(text.to_owned());
    let t = text.trim();
    let (whole, frac) = t.split_once('.').unwrap_or((t, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (whole.is_empty() && frac.is_empty()) || !digits(whole) || !digits(frac) {
        return Err(bad());
    }
    if frac.len() > usize::from(decimals) {
        return Err(bad());
    }
    let padded = format!(
        "{}{}{}",
        if whole.is_empty() { "0" } else { whole },
        frac,
        "0".repeat(usize::from(decimals) - frac.len())
    );
    U256::from_str_radix(&padded, 10).map_err(|_| bad())
}

/// Formats base units as whole units (`1500000000000000000`, 18 -> `1.5`).
pub fn format_amount(amount: U256, decimals: u8) -> String {
    let s = format_units(amount, decimals).unwrap_or_else(|_| amount.to_string());
    if s.contains('.') {
        let s = s.trim_end_matches('0').trim_end_matches('.');
        s.to_owned()
    } else {
        s
    }
}

/// Parses a period: plain seconds, or a number with `s`, `m`, `h`, `d` or `w`.
pub fn parse_period(text: &str) -> Result<u32, InputError> {
    let bad = || InputError::Period(text.to_owned());
    let t = text.trim();
    let (digits, unit) = match t.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&t[..i], c),
        _ => (t, 's'),
    };
    let n: u64 = digits.parse().map_err(|_| bad())?;
    let mult = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3_600,
        'd' => 86_400,
        'w' => 604_800,
        _ => return Err(bad()),
    };
    let secs = n.checked_mul(mult).ok_or_else(bad)?;
    if secs == 0 {
        return Err(bad());
    }
    u32::try_from(secs).map_err(|_| bad())
}

/// Parses `ADDR:SHARES,ADDR:SHARES,...`; the shares must sum to 10,000.
pub fn parse_split(text: &str) -> Result<Vec<(Address, u16)>, InputError> {
    let mut out = Vec::new();
    let mut sum: u64 = 0;
    for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let bad = || InputError::SplitEntry(entry.to_owned());
        let (addr, shares) = entry.split_once(':').ok_or_else(bad)?;
        let addr: Address = addr.trim().parse().map_err(|_| bad())?;
        let shares: u64 = shares.trim().parse().map_err(|_| bad())?;
        if shares == 0 {
            return Err(InputError::SplitZero(addr));
        }
        sum += shares;
        if sum > u64::from(TOTAL_SHARES) {
            // Keep summing for the message, but the value cannot fit a u16 anyway.
            continue;
        }
        out.push((addr, shares as u16));
    }
    if sum != u64::from(TOTAL_SHARES) {
        return Err(InputError::SplitSum(sum));
    }
    Ok(out)
}

/// Parses a content id: `0x` + 64 hex digits (as printed by the packager) or a decimal number.
pub fn parse_content_id(text: &str) -> Result<U256, InputError> {
    let t = text.trim();
    let bad = || InputError::ContentId(text.to_owned());
    if let Some(hex_digits) = t.strip_prefix("0x") {
        if hex_digits.is_empty() || hex_digits.len() > 64 {
            return Err(bad());
        }
        U256::from_str_radix(hex_digits, 16).map_err(|_| bad())
    } else {
        U256::from_str_radix(t, 10).map_err(|_| bad())
    }
}

/// Checks a base for the contracts' metadata URIs: an `http://` or `https://` URL without
/// spaces, ending in `/` so that `{base}access/{id}` is a path below it. Checked before deploying
/// rather than by the contracts, which store whatever their owner sets.
pub fn check_metadata_base(base: &str) -> Result<(), InputError> {
    let ok = (base.starts_with("http://") || base.starts_with("https://"))
        && base.ends_with('/')
        && !base.chars().any(char::is_whitespace);
    if ok {
        Ok(())
    } else {
        Err(InputError::MetadataBase(base.to_owned()))
    }
}

/// A content id as the packager prints it: `0x` and 64 hex digits.
pub fn content_id_hex(id: U256) -> String {
    format!("0x{}", hex::encode(id.to_be_bytes::<32>()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_in_whole_units() {
        assert_eq!(
            parse_amount("1.5", 18).unwrap(),
            U256::from(1_500_000_000_000_000_000u128)
        );
        assert_eq!(parse_amount("2", 6).unwrap(), U256::from(2_000_000u64));
        assert_eq!(parse_amount("0.000001", 6).unwrap(), U256::from(1u64));
        assert!(
            parse_amount("0.0000001", 6).is_err(),
            "finer than the token"
        );
        assert!(parse_amount("-1", 18).is_err());
        assert!(parse_amount("abc", 18).is_err());
        assert!(parse_amount("1.2.3", 18).is_err());
        assert!(parse_amount(".", 18).is_err());
        assert_eq!(parse_amount(".5", 1).unwrap(), U256::from(5u64));
        assert_eq!(
            format_amount(U256::from(1_500_000_000_000_000_000u128), 18),
            "1.5"
        );
        assert_eq!(format_amount(U256::from(2_000_000u64), 6), "2");
    }

    #[test]
    fn periods() {
        assert_eq!(parse_period("3600").unwrap(), 3_600);
        assert_eq!(parse_period("90m").unwrap(), 5_400);
        assert_eq!(parse_period("1d").unwrap(), 86_400);
        assert_eq!(parse_period("2w").unwrap(), 1_209_600);
        assert!(parse_period("0").is_err());
        assert!(parse_period("5y").is_err());
        assert!(parse_period("100000w").is_err(), "beyond u32 seconds");
    }

    #[test]
    fn splits_must_sum_to_10000() {
        let a = "0x00000000000000000000000000000000000000a1";
        let b = "0x00000000000000000000000000000000000000b2";
        let ok = parse_split(&format!("{a}:8000,{b}:2000")).unwrap();
        assert_eq!(ok.len(), 2);
        assert_eq!(ok[1].1, 2_000);
        assert_eq!(
            parse_split(&format!("{a}:8000,{b}:1999")),
            Err(InputError::SplitSum(9_999))
        );
        assert_eq!(
            parse_split(&format!("{a}:8000,{b}:70000")),
            Err(InputError::SplitSum(78_000))
        );
        assert!(matches!(
            parse_split(&format!("{a}:0,{b}:10000")),
            Err(InputError::SplitZero(_))
        ));
        assert!(matches!(
            parse_split("nope:10000"),
            Err(InputError::SplitEntry(_))
        ));
    }

    #[test]
    fn metadata_bases_are_urls_ending_in_a_slash() {
        assert!(check_metadata_base("http://127.0.0.1:8080/v1/metadata/").is_ok());
        assert!(check_metadata_base("https://market.example/m/").is_ok());
        for bad in [
            "",
            "http://127.0.0.1:8080/v1/metadata",
            "ipfs://bafy/",
            "http://a b/",
            "/v1/metadata/",
        ] {
            assert_eq!(
                check_metadata_base(bad),
                Err(InputError::MetadataBase(bad.into())),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn content_ids() {
        let hex_id = format!("0x{}", "ab".repeat(32));
        let id = parse_content_id(&hex_id).unwrap();
        assert_eq!(content_id_hex(id), hex_id);
        assert_eq!(parse_content_id("42").unwrap(), U256::from(42u64));
        assert!(parse_content_id("0x").is_err());
        assert!(parse_content_id("song").is_err());
    }
}
