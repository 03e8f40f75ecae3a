//! Byte sizes on the command line: `1048576`, `512M`, `4GiB`, `1.5G`.

/// Parses a size with an optional binary unit (K, M, G, T, with or
/// without `iB`/`B`; all powers of 1024).
pub fn parse_size(text: &str) -> anyhow::Result<u64> {
    let trimmed = text.trim();
    let split = trimmed
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(split);
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        "t" | "tb" | "tib" => 40,
        _ => anyhow::bail!("`{text}` is not a size (try 512MiB or 4G)"),
    };
    let value: f64 = number
        .parse()
        .map_err(|_| anyhow::anyhow!("`{text}` is not a size (try 512MiB or 4G)"))?;
    let bytes = value * (1u64 << shift) as f64;
    anyhow::ensure!(
        bytes.is_finite() && bytes >= 1.0 && bytes < u64::MAX as f64,
        "`{text}` is out of range"
    );
    Ok(bytes as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("100").unwrap(), 100);
        assert_eq!(parse_size("4GiB").unwrap(), 4 << 30);
        assert_eq!(parse_size("512M").unwrap(), 512 << 20);
        assert_eq!(parse_size("1.5k").unwrap(), 1536);
        assert!(parse_size("lots").is_err());
        assert!(parse_size("0").is_err());
    }
}
