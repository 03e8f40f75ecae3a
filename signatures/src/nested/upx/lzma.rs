//! UPX's LZMA blocks: two header bytes — `(lc + lp) << 3 | pb`, then
//! `lp << 4 | lc` — before a raw LZMA stream (no dictionary size, no
//! length: the block header states the size). Decoded with `lzma-rust2`'s
//! raw decoder into a buffer of exactly that size, with a dictionary no
//! larger than the block, so memory stays the block's size.

use std::io::Read;

/// Decodes one LZMA block, `input` (header bytes first), into `out`, which
/// must come out exactly full.
pub fn decode(input: &[u8], out: &mut [u8]) -> Result<(), String> {
    let [first, second, stream @ ..] = input else {
        return Err("LZMA block shorter than its header".into());
    };
    let pb = u32::from(first & 7);
    let (lp, lc) = (u32::from(second >> 4), u32::from(second & 15));
    if u32::from(first >> 3) != lc + lp || lc > 8 || lp > 4 || pb > 4 {
        return Err(format!(
            "LZMA header `{first:02x} {second:02x}` is not a valid lc/lp/pb"
        ));
    }
    // The whole block is the history a match can reach.
    let dict_size = u32::try_from(out.len()).map_err(|_| "LZMA block too large")?;
    let mut reader =
        lzma_rust2::LzmaReader::new(stream, out.len() as u64, lc, lp, pb, dict_size, None)
            .map_err(|e| format!("LZMA: {e}"))?;
    reader.read_exact(out).map_err(|e| format!("LZMA: {e}"))
}

#[cfg(test)]
pub(crate) mod encode {
    //! A test-only UPX LZMA block writer.

    use std::io::Write;

    /// `data` as UPX stores an LZMA block (lc 3, lp 0, pb 2).
    pub fn encode(data: &[u8]) -> Vec<u8> {
        let options = lzma_rust2::LzmaOptions::with_preset(6);
        let (lc, lp, pb) = (options.lc, options.lp, options.pb);
        let mut out = vec![(((lc + lp) << 3) | pb) as u8, ((lp << 4) | lc) as u8];
        let mut writer = lzma_rust2::LzmaWriter::new_no_header(&mut out, &options, false).unwrap();
        writer.write_all(data).unwrap();
        writer.finish().unwrap();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::encode::encode;
    use super::*;

    fn sample() -> Vec<u8> {
        let mut data = b"XMRig/6.21.0 donate-level stratum+tcp://pool:3333\n".repeat(40);
        data.extend((0..5000u32).map(|i| (i * 31 % 253) as u8));
        data
    }

    #[test]
    fn a_block_decodes() {
        let data = sample();
        let block = encode(&data);
        let mut out = vec![0u8; data.len()];
        decode(&block, &mut out).unwrap();
        assert_eq!(out, data);
    }

    #[test]
    fn hostile_blocks_are_errors() {
        let data = sample();
        let block = encode(&data);
        let mut out = vec![0u8; data.len()];
        for cut in [0, 1, 2, 3, 10, block.len() / 2, block.len() - 1] {
            assert!(decode(&block[..cut], &mut out).is_err(), "cut at {cut}");
        }
        let mut bad_header = block.clone();
        bad_header[0] = 0xff;
        assert!(decode(&bad_header, &mut out).is_err());
        // A stated size past what the stream holds.
        let mut longer = vec![0u8; data.len() + 100];
        assert!(decode(&block, &mut longer).is_err());
        // Noise.
        let noise: Vec<u8> = (0..4000u32).map(|i| (i * 7919 % 256) as u8).collect();
        let mut noisy = block[..2].to_vec();
        noisy.extend_from_slice(&noise);
        assert!(decode(&noisy, &mut out).is_err());
    }
}
