//! Undoing UPX's x86 call-trick filter on an unpacked block of code. Before
//! compressing, UPX rewrites the 32-bit operand of each relative `call`
//! (E8), `jmp` (E9) and, with filter 0x49, conditional jump (0F 80–8F) whose
//! target lies inside the block: the displacement becomes the operand's
//! position plus the displacement, stored big-endian in 24 bits under a
//! marker byte (`cto8`, the block header's, a value no untouched operand
//! starts with), so calls to one function repeat and compress well.
//!
//! Worked out from real packed files against the originals, the scan
//! goes byte by byte; a marked operand is restored and skipped, anything
//! else moves on one byte. Other filter ids (the i386 ones, other
//! architectures') are left as they are: only branch operands differ, and
//! strings, which rules look for, never pass through a filter.

/// Filter ids handled: the call trick on E8/E9 (0x26 seen on win32 PE
/// files; 0x46, its amd64 form, by the same description), and with
/// conditional jumps (0x49: amd64 ELF and win64 PE files).
const CALLS: [u8; 2] = [0x26, 0x46];
const CALLS_AND_JUMPS: u8 = 0x49;

/// Undoes filter `id` with marker `cto8` on `code` in place; false when the
/// filter is not one undone here (the bytes stay filtered).
pub fn unfilter(id: u8, cto8: u8, code: &mut [u8]) -> bool {
    let jumps = match id {
        CALLS_AND_JUMPS => true,
        id if CALLS.contains(&id) => false,
        _ => return false,
    };
    // As UPX's filter does, no opcode in the last five bytes is looked at.
    let mut i = 0;
    while i + 5 < code.len() {
        let operand = i + 1;
        if is_branch(code, i, jumps) && code[operand] == cto8 {
            let stored = u32::from_be_bytes([
                code[operand],
                code[operand + 1],
                code[operand + 2],
                code[operand + 3],
            ]) & 0x00ff_ffff;
            let displacement = stored.wrapping_sub(operand as u32);
            code[operand..operand + 4].copy_from_slice(&displacement.to_le_bytes());
            i = operand + 4;
        } else {
            i += 1;
        }
    }
    true
}

/// Whether `code[at]` is the opcode of a call or jump the filters touch:
/// `E8` (call), `E9` (jmp) and, with `jumps`, the `0F 8x` conditional
/// jumps.
fn is_branch(code: &[u8], at: usize, jumps: bool) -> bool {
    let op = code[at];
    op == 0xe8
        || op == 0xe9
        || (jumps && at > 0 && code[at - 1] == 0x0f && (0x80..=0x8f).contains(&op))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The filter as UPX applies it, for the tests: each call (and jump)
    /// whose target stays inside the block, marked.
    fn filter(jumps: bool, cto8: u8, code: &mut [u8]) {
        let mut i = 0;
        while i + 5 < code.len() {
            let branch = is_branch(code, i, jumps);
            let operand = i + 1;
            let displacement = i32::from_le_bytes(code[operand..operand + 4].try_into().unwrap());
            let target = operand as i64 + i64::from(displacement);
            if branch && (0..1 << 24).contains(&target) {
                let stored = (u32::from(cto8) << 24) | target as u32;
                code[operand..operand + 4].copy_from_slice(&stored.to_be_bytes());
                i = operand + 4;
            } else {
                i += 1;
            }
        }
    }

    #[test]
    fn calls_and_jumps_are_restored() {
        // call +0x10; jmp -5; jne +0x20; a call out of the block (kept),
        // and a string that looks like an opcode.
        let mut code = Vec::new();
        code.extend_from_slice(&[0x55, 0xe8, 0x10, 0, 0, 0]);
        code.extend_from_slice(&[0x90, 0xe9, 0xfb, 0xff, 0xff, 0xff]);
        code.extend_from_slice(&[0x0f, 0x85, 0x20, 0, 0, 0]);
        code.extend_from_slice(&[0xe8, 0x00, 0x00, 0x00, 0x80]);
        code.extend_from_slice(b"stratum+tcp://\xe8pool");
        code.extend_from_slice(&[0xc3; 64]);
        let original = code.clone();
        filter(true, 0x17, &mut code);
        assert_ne!(code, original);
        assert!(code.windows(14).any(|w| w == &b"stratum+tcp://"[..]));
        assert!(unfilter(CALLS_AND_JUMPS, 0x17, &mut code));
        assert_eq!(code, original);

        let mut calls_only = original.clone();
        filter(false, 0x2a, &mut calls_only);
        assert!(unfilter(0x46, 0x2a, &mut calls_only));
        assert_eq!(calls_only, original);
    }

    #[test]
    fn other_filters_and_short_blocks_are_left_alone() {
        let mut code = vec![0xe8, 0x17, 0, 0, 0];
        assert!(!unfilter(0x11, 0x17, &mut code));
        assert_eq!(code, [0xe8, 0x17, 0, 0, 0]);
        let mut short = vec![0xe8, 0x17, 0];
        assert!(unfilter(CALLS_AND_JUMPS, 0x17, &mut short));
        assert_eq!(short, [0xe8, 0x17, 0]);
        assert!(unfilter(CALLS_AND_JUMPS, 0x17, &mut []));
    }
}
