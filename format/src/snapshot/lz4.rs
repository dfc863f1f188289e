//! A small LZ4 block encoder whose output depends only on its input: the same bytes on every
//! target. `lz4_flex`'s encoder hashes a different number of bytes on 32-bit and 64-bit
//! targets, so a snapshot written by the native runtime and one written by `chiwawa-rt.wasm`
//! differed although they held the same state. Decoding stays with `lz4_flex` (checked).
//!
//! The format is the LZ4 block format: sequences of a token (literal count, match length - 4,
//! a nibble each, 15 meaning "more in the bytes after", which are 255s and a last byte below
//! 255), the literals, a 16-bit little-endian offset and the match length's extra bytes; the
//! last sequence only literals. As the format asks, the last 5 bytes are always literals and
//! no match starts in the last 12.

const MIN_MATCH: usize = 4;
const LAST_LITERALS: usize = 5;
const MF_LIMIT: usize = 12;
const MAX_OFFSET: usize = 65_535;
const HASH_BITS: u32 = 12;

fn read_u32(input: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([input[at], input[at + 1], input[at + 2], input[at + 3]])
}

fn hash(sequence: u32) -> usize {
    (sequence.wrapping_mul(2_654_435_761) >> (32 - HASH_BITS)) as usize
}

/// Appends a length's extra bytes: 255s, then the rest (below 255).
fn push_len(out: &mut Vec<u8>, mut n: usize) {
    while n >= 255 {
        out.push(255);
        n -= 255;
    }
    out.push(n as u8);
}

/// Appends one sequence: `literals`, then (unless last) a match of `len` at `offset` back.
fn push_sequence(out: &mut Vec<u8>, literals: &[u8], matched: Option<(usize, usize)>) {
    let lit = literals.len();
    let ml = matched.map_or(0, |(_, len)| len - MIN_MATCH);
    out.push(
        ((lit.min(15) as u8) << 4)
            | if matched.is_some() {
                ml.min(15) as u8
            } else {
                0
            },
    );
    if lit >= 15 {
        push_len(out, lit - 15);
    }
    out.extend_from_slice(literals);
    if let Some((offset, _)) = matched {
        out.extend_from_slice(&(offset as u16).to_le_bytes());
        if ml >= 15 {
            push_len(out, ml - 15);
        }
    }
}

/// `input` as one LZ4 block (greedy matching through a table of 4096 earlier positions; after
/// every 64 misses in a row the search steps one byte further, as LZ4's own fast mode does).
pub(crate) fn compress(input: &[u8]) -> Vec<u8> {
    let n = input.len();
    let mut out = Vec::with_capacity(n / 2 + 16);
    // Position + 1 of the last 4-byte sequence with each hash (0: none). Positions fit in u32:
    // the encoder is given 64 KiB pages.
    let mut table = vec![0u32; 1 << HASH_BITS];
    let mut anchor = 0;
    let mut i = 0;
    let mut misses = 0usize;
    if n > MF_LIMIT {
        let limit = n - MF_LIMIT;
        while i < limit {
            let sequence = read_u32(input, i);
            let slot = &mut table[hash(sequence)];
            let candidate = *slot as usize;
            *slot = i as u32 + 1;
            if candidate != 0 {
                let c = candidate - 1;
                if i - c <= MAX_OFFSET && read_u32(input, c) == sequence {
                    // The match may run up to the last literals.
                    let max = n - LAST_LITERALS - i;
                    let mut len = MIN_MATCH;
                    while len < max && input[c + len] == input[i + len] {
                        len += 1;
                    }
                    push_sequence(&mut out, &input[anchor..i], Some((i - c, len)));
                    i += len;
                    anchor = i;
                    misses = 0;
                    continue;
                }
            }
            misses += 1;
            i += 1 + (misses >> 6);
        }
    }
    push_sequence(&mut out, &input[anchor..], None);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(input: &[u8]) -> usize {
        let packed = compress(input);
        let mut back = vec![0u8; input.len()];
        let n = lz4_flex::block::decompress_into(&packed, &mut back).expect("a valid block");
        assert_eq!(n, input.len());
        assert_eq!(back, input);
        packed.len()
    }

    #[test]
    fn blocks_decode_to_their_input() {
        // Short inputs, all literals.
        for len in 0..40 {
            let input: Vec<u8> = (0..len as u8).collect();
            round_trip(&input);
        }
        // A zero page, a repeated pattern, long literal runs and long matches.
        assert!(round_trip(&[0u8; 65_536]) < 300);
        let pattern: Vec<u8> = (0..65_536).map(|i| (i % 251) as u8).collect();
        assert!(round_trip(&pattern) < 1_000);
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut random = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let noise: Vec<u8> = (0..65_536).map(|_| random() as u8).collect();
        assert!(round_trip(&noise) < 65_536 + 300);
        // Like a heap: runs of zeros, small integers, pointers, text, and noise.
        for _ in 0..50 {
            let mut page = vec![0u8; 65_536];
            let mut at = 0;
            while at < page.len() {
                let len = (random() % 300) as usize;
                let end = (at + len).min(page.len());
                match random() % 4 {
                    0 => {}
                    1 => page[at..end].iter_mut().for_each(|b| *b = random() as u8),
                    2 => page[at..end]
                        .iter_mut()
                        .enumerate()
                        .for_each(|(k, b)| *b = (k % 8) as u8),
                    _ => page[at..end]
                        .copy_from_slice(&b"the quick brown fox ".repeat(20)[..end - at]),
                }
                at = end;
            }
            round_trip(&page);
        }
    }
}
