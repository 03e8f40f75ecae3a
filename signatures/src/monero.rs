//! Monero addresses: Monero's own base58 (8-byte blocks, each written as
//! 11 characters; the last, shorter block as fewer) and the Keccak-256
//! checksum, so that a rule's match on "95 base58 characters after a 4" is
//! kept only when it is an address a wallet would accept. Hex hashes, which
//! are almost all base58 characters, never pass.
//!
//! Written here rather than taken from a crate: neither base58 variant nor
//! Keccak is in the dependency tree, and both fit on a page.

const ALPHABET: &[u8; 58] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
/// Characters for a block of n bytes (index n).
const ENCODED_BLOCK: [usize; 9] = [0, 2, 3, 5, 6, 7, 9, 10, 11];
const FULL_BLOCK: usize = 8;
const FULL_ENCODED: usize = 11;

/// Network bytes of Monero addresses: standard, integrated and subaddress
/// on mainnet, testnet and stagenet.
const NETWORK_BYTES: [u8; 9] = [18, 19, 42, 53, 54, 63, 24, 25, 36];

/// Decodes Monero base58; `None` when a character, a block length or a
/// block value is not one an encoder can produce.
pub fn base58_decode(text: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() / FULL_ENCODED * FULL_BLOCK + FULL_BLOCK);
    for block in text.chunks(FULL_ENCODED) {
        let size = ENCODED_BLOCK.iter().position(|&n| n == block.len())?;
        let mut value: u128 = 0;
        for &c in block {
            let digit = ALPHABET.iter().position(|&a| a == c)? as u128;
            value = value * 58 + digit;
        }
        if value >> (8 * size) != 0 {
            return None;
        }
        out.extend_from_slice(&(value as u64).to_be_bytes()[FULL_BLOCK - size..]);
    }
    Some(out)
}

/// Encodes bytes in Monero base58.
pub fn base58_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len() / FULL_BLOCK * FULL_ENCODED + FULL_ENCODED);
    for block in data.chunks(FULL_BLOCK) {
        let mut value = block.iter().fold(0u64, |v, &b| (v << 8) | u64::from(b));
        let width = ENCODED_BLOCK[block.len()];
        let mut chars = vec![ALPHABET[0]; width];
        for slot in chars.iter_mut().rev() {
            *slot = ALPHABET[(value % 58) as usize];
            value /= 58;
        }
        out.extend(chars.into_iter().map(char::from));
    }
    out
}

/// Whether `text` is a Monero address (standard, subaddress or integrated,
/// any network) with a valid checksum.
pub fn is_valid_address(text: &[u8]) -> bool {
    if text.len() != 95 && text.len() != 106 {
        return false;
    }
    let Some(data) = base58_decode(text) else {
        return false;
    };
    let (body, checksum) = data.split_at(data.len() - 4);
    NETWORK_BYTES.contains(&body[0]) && keccak256(body)[..4] == *checksum
}

/// The address of a network byte and two public keys (and, for an
/// integrated address, an 8-byte payment id): what a wallet prints.
pub fn encode_address(
    network: u8,
    spend: &[u8; 32],
    view: &[u8; 32],
    payment_id: Option<&[u8; 8]>,
) -> String {
    let mut data = vec![network];
    data.extend_from_slice(spend);
    data.extend_from_slice(view);
    if let Some(id) = payment_id {
        data.extend_from_slice(id);
    }
    let checksum = keccak256(&data);
    data.extend_from_slice(&checksum[..4]);
    base58_encode(&data)
}

const ROUND_CONSTANTS: [u64; 24] = [
    0x0000000000000001,
    0x0000000000008082,
    0x800000000000808a,
    0x8000000080008000,
    0x000000000000808b,
    0x0000000080000001,
    0x8000000080008081,
    0x8000000000008009,
    0x000000000000008a,
    0x0000000000000088,
    0x0000000080008009,
    0x000000008000000a,
    0x000000008000808b,
    0x800000000000008b,
    0x8000000000008089,
    0x8000000000008003,
    0x8000000000008002,
    0x8000000000000080,
    0x000000000000800a,
    0x800000008000000a,
    0x8000000080008081,
    0x8000000000008080,
    0x0000000080000001,
    0x8000000080008008,
];
/// Rotation of lane x + 5y.
const ROTATIONS: [u32; 25] = [
    0, 1, 62, 28, 27, 36, 44, 6, 55, 20, 3, 10, 43, 25, 39, 41, 45, 15, 21, 8, 18, 2, 61, 56, 14,
];

fn keccak_f(state: &mut [u64; 25]) {
    for rc in ROUND_CONSTANTS {
        let mut c = [0u64; 5];
        for (x, lane) in c.iter_mut().enumerate() {
            *lane = (0..5).fold(0, |acc, y| acc ^ state[x + 5 * y]);
        }
        for x in 0..5 {
            let d = c[(x + 4) % 5] ^ c[(x + 1) % 5].rotate_left(1);
            for y in 0..5 {
                state[x + 5 * y] ^= d;
            }
        }
        let mut b = [0u64; 25];
        for x in 0..5 {
            for y in 0..5 {
                b[y + 5 * ((2 * x + 3 * y) % 5)] =
                    state[x + 5 * y].rotate_left(ROTATIONS[x + 5 * y]);
            }
        }
        for x in 0..5 {
            for y in 0..5 {
                state[x + 5 * y] =
                    b[x + 5 * y] ^ (!b[(x + 1) % 5 + 5 * y] & b[(x + 2) % 5 + 5 * y]);
            }
        }
        state[0] ^= rc;
    }
}

/// Keccak-256 as Monero uses it (the original padding, not SHA3-256's).
pub fn keccak256(data: &[u8]) -> [u8; 32] {
    sponge(data, 0x01)
}

/// The 256-bit sponge with the first padding byte `pad` (0x01 Keccak,
/// 0x06 SHA3).
fn sponge(data: &[u8], pad: u8) -> [u8; 32] {
    const RATE: usize = 136;
    let mut state = [0u64; 25];
    let absorb = |state: &mut [u64; 25], block: &[u8]| {
        for (lane, bytes) in state.iter_mut().zip(block.chunks(8)) {
            *lane ^= u64::from_le_bytes(bytes.try_into().unwrap_or([0; 8]));
        }
        keccak_f(state);
    };
    let mut blocks = data.chunks_exact(RATE);
    for block in blocks.by_ref() {
        absorb(&mut state, block);
    }
    let rest = blocks.remainder();
    let mut last = [0u8; RATE];
    last[..rest.len()].copy_from_slice(rest);
    last[rest.len()] ^= pad;
    last[RATE - 1] ^= 0x80;
    absorb(&mut state, &last);
    let mut out = [0u8; 32];
    for (chunk, lane) in out.chunks_mut(8).zip(state) {
        chunk.copy_from_slice(&lane.to_le_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keccak_test_vectors() {
        assert_eq!(
            hex::encode(keccak256(b"")),
            "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
        );
        assert_eq!(
            hex::encode(keccak256(b"abc")),
            "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45"
        );
        // Two blocks (200 bytes cross the 136-byte rate), checked through
        // SHA3-256, which shares the permutation: NIST's 0xa3 x 200 vector.
        assert_eq!(
            hex::encode(sponge(&[0xa3; 200], 0x06)),
            "79f38adec5c20307a98ef76e8324afbfd46cfd81b22e3973c65fa1bd9de31787"
        );
    }

    /// The Monero General Fund's donation address, as published on
    /// getmonero.org.
    const GENERAL_FUND: &str = "44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSsaBYBb98uNbr2VBBEt7f2wfn3RVGQBEP3A";

    #[test]
    fn published_address_is_valid_and_a_changed_character_is_not() {
        assert!(is_valid_address(GENERAL_FUND.as_bytes()));
        let mut changed = GENERAL_FUND.as_bytes().to_vec();
        changed[50] = if changed[50] == b'a' { b'b' } else { b'a' };
        assert!(!is_valid_address(&changed));
        let data = base58_decode(GENERAL_FUND.as_bytes()).unwrap();
        assert_eq!((data.len(), data[0]), (69, 18));
        assert_eq!(base58_encode(&data), GENERAL_FUND);
    }

    #[test]
    fn addresses_made_from_keys_round_trip() {
        let standard = encode_address(18, &[1; 32], &[2; 32], None);
        assert_eq!(standard.len(), 95);
        assert!(standard.starts_with('4'));
        assert!(is_valid_address(standard.as_bytes()));
        let sub = encode_address(42, &[3; 32], &[4; 32], None);
        assert!(sub.starts_with('8') && is_valid_address(sub.as_bytes()));
        let integrated = encode_address(19, &[5; 32], &[6; 32], Some(&[7; 8]));
        assert_eq!(integrated.len(), 106);
        assert!(is_valid_address(integrated.as_bytes()));
        assert!(
            !is_valid_address(encode_address(0x05, &[1; 32], &[2; 32], None).as_bytes()),
            "not a Monero network byte"
        );
    }

    #[test]
    fn hex_and_made_up_strings_are_not_addresses() {
        let hex: String = "41"
            .chars()
            .chain("123456789abcdef".chars().cycle().take(93))
            .collect();
        assert_eq!(hex.len(), 95);
        assert!(!is_valid_address(hex.as_bytes()));
        let made_up: String = "4A"
            .chars()
            .chain(
                std::str::from_utf8(ALPHABET)
                    .unwrap()
                    .chars()
                    .cycle()
                    .skip(7)
                    .take(93),
            )
            .collect();
        assert!(!is_valid_address(made_up.as_bytes()));
        assert!(base58_decode(b"zzzzzzzzzzz").is_none(), "block over 2^64");
        assert!(base58_decode(b"1111").is_none(), "no block encodes as 4");
    }
}
