//! The NRV2B, NRV2D and NRV2E decoders UPX packs with, written from the
//! format's public description: LZ77 whose literals and match headers are
//! steered by a stream of single bits, the bits read most significant first
//! from 32-bit little-endian words (UPX's `_LE32` methods, the ones every
//! x86 and ARM executable uses), 16-bit words or single bytes, interleaved
//! with the literal and offset bytes in one input.
//!
//! A block decodes into a buffer of exactly its stated size: running past
//! it, stopping short of it, a back-reference before the block's first byte
//! or input that ends early is an error, never a panic, and the work is
//! bounded by the input and output sizes (every step reads a bit or writes
//! a byte).

/// The three NRV variants: they differ in how a match's offset and length
/// are coded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// NRV2B: offset high part and length in Elias-gamma-like codes.
    B,
    /// NRV2D: the offset's low bit carries a length bit.
    D,
    /// NRV2E: like NRV2D, with short lengths coded more tightly.
    E,
}

/// How many bits the decoder takes from the input at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Width {
    /// One byte.
    Byte,
    /// A 16-bit little-endian word.
    Le16,
    /// A 32-bit little-endian word.
    Le32,
}

impl Width {
    fn bytes(self) -> usize {
        match self {
            Width::Byte => 1,
            Width::Le16 => 2,
            Width::Le32 => 4,
        }
    }
}

/// Why a block does not decode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NrvError {
    /// The input ended before the end marker.
    #[error("compressed data ends early")]
    Truncated,
    /// More output than the block's stated size.
    #[error("decodes to more than the stated {0} bytes")]
    Overrun(usize),
    /// The end marker came before the block's stated size.
    #[error("decodes to {got} bytes, not the stated {want}")]
    Short {
        /// Bytes decoded.
        got: usize,
        /// Bytes stated.
        want: usize,
    },
    /// A match that refers to before the block's first byte.
    #[error("a match refers {distance} bytes back, at output byte {at}")]
    BeforeStart {
        /// The match distance.
        distance: u64,
        /// Bytes decoded so far.
        at: usize,
    },
    /// An offset or length code too long for any block.
    #[error("a match code is out of range")]
    Range,
}

/// Largest offset or length code kept: past any output UPX writes (its end
/// marker is the offset code 2^24 + 2), and far from overflow.
const CODE_LIMIT: u64 = 1 << 32;

/// A reader of the interleaved bit and byte stream.
struct Bits<'i> {
    input: &'i [u8],
    pos: usize,
    width: Width,
    word: u32,
    left: u32,
}

impl Bits<'_> {
    fn byte(&mut self) -> Result<u8, NrvError> {
        let byte = *self.input.get(self.pos).ok_or(NrvError::Truncated)?;
        self.pos += 1;
        Ok(byte)
    }

    fn bit(&mut self) -> Result<u64, NrvError> {
        if self.left == 0 {
            let n = self.width.bytes();
            let bytes = self
                .input
                .get(self.pos..self.pos + n)
                .ok_or(NrvError::Truncated)?;
            self.word = bytes
                .iter()
                .rev()
                .fold(0u32, |word, &b| (word << 8) | u32::from(b));
            self.left = 8 * n as u32;
            self.pos += n;
        }
        self.left -= 1;
        Ok(u64::from((self.word >> self.left) & 1))
    }

    /// The code all three variants use for lengths (and NRV2B for
    /// offsets): data bits after an implicit leading 1, each followed by a
    /// bit that is 1 after the last.
    fn gamma(&mut self) -> Result<u64, NrvError> {
        self.code(false)
    }

    /// NRV2D's and NRV2E's offset code: two data bits per stop bit.
    fn gamma2(&mut self) -> Result<u64, NrvError> {
        self.code(true)
    }

    /// The codes above: a data bit, a stop bit, and with `paired` another
    /// data bit after each 0 stop bit.
    fn code(&mut self, paired: bool) -> Result<u64, NrvError> {
        let mut value = 1u64;
        loop {
            value = value * 2 + self.bit()?;
            if value >= CODE_LIMIT {
                return Err(NrvError::Range);
            }
            if self.bit()? == 1 {
                return Ok(value);
            }
            if paired {
                value = (value - 1) * 2 + self.bit()?;
            }
        }
    }
}

/// Decodes `input`, compressed with `variant` in `width`, into `out`, which
/// must come out exactly full.
pub fn decode(
    variant: Variant,
    width: Width,
    input: &[u8],
    out: &mut [u8],
) -> Result<(), NrvError> {
    let mut bits = Bits {
        input,
        pos: 0,
        width,
        word: 0,
        left: 0,
    };
    let size = out.len();
    let mut done = 0usize;
    let mut last_distance = 1u64;
    loop {
        while bits.bit()? == 1 {
            let byte = bits.byte()?;
            *out.get_mut(done).ok_or(NrvError::Overrun(size))? = byte;
            done += 1;
        }
        let code = match variant {
            Variant::B => bits.gamma()?,
            Variant::D | Variant::E => bits.gamma2()?,
        };
        // A length bit the offset code carries (NRV2D/E), or none.
        let mut len_bit = None;
        let distance = if code == 2 {
            if variant != Variant::B {
                len_bit = Some(bits.bit()?);
            }
            last_distance
        } else {
            let low = u64::from(bits.byte()?);
            let value = (code - 3) * 256 + low;
            if value == u64::from(u32::MAX) {
                break;
            }
            if value > u64::from(u32::MAX) {
                return Err(NrvError::Range);
            }
            let distance = match variant {
                Variant::B => value + 1,
                Variant::D | Variant::E => {
                    len_bit = Some((value & 1) ^ 1);
                    (value >> 1) + 1
                }
            };
            last_distance = distance;
            distance
        };
        let len = match variant {
            Variant::B => {
                let len = bits.bit()? * 2 + bits.bit()?;
                let len = if len == 0 { bits.gamma()? + 2 } else { len };
                len + u64::from(distance > 0xd00)
            }
            Variant::D => {
                let len = len_bit.unwrap_or(0) * 2 + bits.bit()?;
                let len = if len == 0 { bits.gamma()? + 2 } else { len };
                len + u64::from(distance > 0x500)
            }
            Variant::E => {
                let len = if len_bit == Some(1) {
                    1 + bits.bit()?
                } else if bits.bit()? == 1 {
                    3 + bits.bit()?
                } else {
                    bits.gamma()? + 3
                };
                len + u64::from(distance > 0x500)
            }
        } + 1;
        if distance > done as u64 {
            return Err(NrvError::BeforeStart { distance, at: done });
        }
        let end = done as u64 + len;
        if end > out.len() as u64 {
            return Err(NrvError::Overrun(out.len()));
        }
        // Byte by byte: a match may overlap its own output.
        let from = done - distance as usize;
        for i in 0..len as usize {
            out[done + i] = out[from + i];
        }
        done = end as usize;
    }
    if done != out.len() {
        return Err(NrvError::Short {
            got: done,
            want: out.len(),
        });
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod encode {
    //! A test-only NRV encoder (literals, matches, the end marker) in any
    //! variant and width, so the decoder is checked on hand-built streams.

    use super::{Variant, Width};

    /// What a stream says, in order.
    #[derive(Debug, Clone, Copy)]
    pub enum Op<'a> {
        /// Bytes as they are.
        Literals(&'a [u8]),
        /// Copy `len` bytes from `distance` back.
        Match { distance: u64, len: u64 },
    }

    struct Writer {
        out: Vec<u8>,
        width: Width,
        /// Where the word being filled sits in `out`, and its bits so far.
        word_at: usize,
        word: u32,
        used: u32,
    }

    impl Writer {
        fn bit(&mut self, bit: u64) {
            let bits = 8 * self.width.bytes() as u32;
            if self.used == bits || (self.out.is_empty() && self.used == 0) {
                self.flush();
                self.word_at = self.out.len();
                self.out.extend(std::iter::repeat_n(0, self.width.bytes()));
                self.word = 0;
                self.used = 0;
            }
            self.word |= (bit as u32) << (bits - 1 - self.used);
            self.used += 1;
        }

        fn flush(&mut self) {
            let n = self.width.bytes();
            if self.out.len() >= self.word_at + n {
                self.out[self.word_at..self.word_at + n]
                    .copy_from_slice(&self.word.to_le_bytes()[..n]);
            }
        }

        fn gamma(&mut self, value: u64) {
            assert!(value >= 2);
            let top = 63 - value.leading_zeros();
            for i in (0..top).rev() {
                self.bit((value >> i) & 1);
                self.bit(u64::from(i == 0));
            }
        }

        fn gamma2(&mut self, value: u64) {
            assert!(value >= 2);
            let mut rev = vec![1, value & 1];
            let mut m = value >> 1;
            while m != 1 {
                rev.push(m & 1);
                rev.push(0);
                let before = (m >> 1) + 1;
                rev.push(before & 1);
                m = before >> 1;
            }
            for bit in rev.into_iter().rev() {
                self.bit(bit);
            }
        }
    }

    /// `ops` as a `variant` stream in `width`, ended by the end marker.
    pub fn encode(variant: Variant, width: Width, ops: &[Op<'_>]) -> Vec<u8> {
        let mut w = Writer {
            out: Vec::new(),
            width,
            word_at: 0,
            word: 0,
            used: 0,
        };
        let mut last = 1u64;
        for op in ops {
            match *op {
                Op::Literals(bytes) => {
                    for &b in bytes {
                        w.bit(1);
                        w.out.push(b);
                    }
                }
                Op::Match { distance, len } => {
                    w.bit(0);
                    let far = match variant {
                        Variant::B => distance > 0xd00,
                        _ => distance > 0x500,
                    };
                    let code_len = len - 1 - u64::from(far);
                    match variant {
                        Variant::B => {
                            if distance == last {
                                w.gamma(2);
                            } else {
                                w.gamma((distance - 1) / 256 + 3);
                                w.out.push(((distance - 1) % 256) as u8);
                            }
                            if code_len <= 3 {
                                w.bit(code_len >> 1);
                                w.bit(code_len & 1);
                            } else {
                                w.bit(0);
                                w.bit(0);
                                w.gamma(code_len - 2);
                            }
                        }
                        Variant::D | Variant::E => {
                            // The first length bit rides on the offset.
                            let first = if variant == Variant::D {
                                if code_len <= 3 { code_len >> 1 } else { 0 }
                            } else {
                                u64::from(code_len <= 2)
                            };
                            if distance == last {
                                w.gamma2(2);
                                w.bit(first);
                            } else {
                                let value = (distance - 1) * 2 + (first ^ 1);
                                w.gamma2(value / 256 + 3);
                                w.out.push((value % 256) as u8);
                            }
                            if variant == Variant::D {
                                if code_len <= 3 {
                                    w.bit(code_len & 1);
                                } else {
                                    w.bit(0);
                                    w.gamma(code_len - 2);
                                }
                            } else if code_len <= 2 {
                                w.bit(code_len - 1);
                            } else if code_len <= 4 {
                                w.bit(1);
                                w.bit(code_len - 3);
                            } else {
                                w.bit(0);
                                w.gamma(code_len - 3);
                            }
                        }
                    }
                    last = distance;
                }
            }
        }
        // The end marker: a new offset whose value is 2^32 - 1.
        w.bit(0);
        match variant {
            Variant::B => w.gamma(0x0100_0002),
            _ => w.gamma2(0x0100_0002),
        }
        w.out.push(0xff);
        w.flush();
        w.out
    }
}

#[cfg(test)]
mod tests {
    use super::encode::{Op, encode};
    use super::*;

    const VARIANTS: [Variant; 3] = [Variant::B, Variant::D, Variant::E];
    const WIDTHS: [Width; 3] = [Width::Byte, Width::Le16, Width::Le32];

    fn decoded(
        variant: Variant,
        width: Width,
        stream: &[u8],
        size: usize,
    ) -> Result<Vec<u8>, NrvError> {
        let mut out = vec![0u8; size];
        decode(variant, width, stream, &mut out).map(|()| out)
    }

    /// Literals, a repeat of the last distance, near and far matches,
    /// overlapping runs and every length code, in each variant and width.
    #[test]
    fn hand_built_streams_decode() {
        let far: Vec<u8> = (0..0x1800u32).map(|i| (i * 7 % 251) as u8).collect();
        let mut want = Vec::new();
        let mut ops = Vec::new();
        ops.push(Op::Literals(b"stratum+tcp://"));
        want.extend_from_slice(b"stratum+tcp://");
        for (distance, len) in [(14, 14), (14, 2), (1, 3), (3, 5), (1, 300), (28, 4), (2, 6)] {
            ops.push(Op::Match { distance, len });
            for _ in 0..len {
                want.push(want[want.len() - distance as usize]);
            }
        }
        ops.push(Op::Literals(&far));
        want.extend_from_slice(&far);
        for (distance, len) in [(0x1700, 9), (0x1700, 3), (0x600, 4), (0xd01, 7), (0x501, 3)] {
            ops.push(Op::Match { distance, len });
            for _ in 0..len {
                want.push(want[want.len() - distance as usize]);
            }
        }
        for variant in VARIANTS {
            for width in WIDTHS {
                let stream = encode(variant, width, &ops);
                assert_eq!(
                    decoded(variant, width, &stream, want.len()).as_ref(),
                    Ok(&want),
                    "{variant:?} {width:?}"
                );
            }
        }
    }

    #[test]
    fn every_length_code_round_trips() {
        for variant in VARIANTS {
            for len in 2..40u64 {
                for distance in [1u64, 5, 0x501, 0xd01] {
                    if len == 2 && distance > 0x500 {
                        continue;
                    }
                    let mut want = vec![0x5au8; 0xd01];
                    want[0xd00] = 1;
                    let head = want.clone();
                    for _ in 0..len {
                        want.push(want[want.len() - distance as usize]);
                    }
                    let ops = [Op::Literals(&head), Op::Match { distance, len }];
                    let stream = encode(variant, Width::Le32, &ops);
                    assert_eq!(
                        decoded(variant, Width::Le32, &stream, want.len()).as_ref(),
                        Ok(&want),
                        "{variant:?} len {len} distance {distance}"
                    );
                }
            }
        }
    }

    #[test]
    fn hostile_streams_are_errors() {
        for variant in VARIANTS {
            for width in WIDTHS {
                let ops = [
                    Op::Literals(b"abcdefgh"),
                    Op::Match {
                        distance: 4,
                        len: 8,
                    },
                ];
                let stream = encode(variant, width, &ops);
                // Truncated anywhere: an error, never a panic.
                for cut in 0..stream.len() {
                    assert!(decoded(variant, width, &stream[..cut], 16).is_err());
                }
                // The stated size too small, or too large.
                assert_eq!(
                    decoded(variant, width, &stream, 10),
                    Err(NrvError::Overrun(10))
                );
                assert_eq!(
                    decoded(variant, width, &stream, 17),
                    Err(NrvError::Short { got: 16, want: 17 })
                );
                // A match before the first byte.
                let before = encode(
                    variant,
                    width,
                    &[
                        Op::Literals(b"ab"),
                        Op::Match {
                            distance: 3,
                            len: 4,
                        },
                    ],
                );
                assert_eq!(
                    decoded(variant, width, &before, 6),
                    Err(NrvError::BeforeStart { distance: 3, at: 2 })
                );
                let first = encode(
                    variant,
                    width,
                    &[Op::Match {
                        distance: 1,
                        len: 4,
                    }],
                );
                assert!(matches!(
                    decoded(variant, width, &first, 4),
                    Err(NrvError::BeforeStart { .. })
                ));
            }
        }
    }

    /// A stream of zero bits asks for an ever longer offset code: it ends
    /// at the code limit or the input's end, quickly.
    #[test]
    fn endless_codes_stop() {
        for variant in VARIANTS {
            let zeros = vec![0u8; 1 << 16];
            assert!(decoded(variant, Width::Le32, &zeros, 1 << 20).is_err());
            let mut ones = vec![0xffu8; 1 << 16];
            ones[..4].copy_from_slice(&[0, 0, 0, 0]);
            assert!(decoded(variant, Width::Le32, &ones, 1 << 20).is_err());
        }
    }
}
