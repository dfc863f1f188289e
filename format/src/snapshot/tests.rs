use super::*;

/// A snapshot with something in every section: two memories (one with zero pages between
/// non-zero ones), a table with a null, dropped segments, three frames, every descriptor kind.
fn sample() -> Snapshot {
    let mut memory = vec![0u8; 4 * PAGE];
    memory[5] = 1;
    for (i, b) in memory[2 * PAGE..3 * PAGE].iter_mut().enumerate() {
        *b = (i * 7 % 251) as u8;
    }
    memory[4 * PAGE - 1] = 0xff;
    Snapshot {
        image: ImageId {
            checksum: 0x0123_4567_89ab_cdef,
            source_hash: [7; 16],
        },
        instructions: 2_000_000_000,
        monotonic_ns: 123_456_789,
        args: vec!["app.wasm".into(), "héllo".into()],
        env: vec!["A=1".into(), "B=two words".into()],
        globals: vec![1, u64::MAX, 0x4000_0000],
        memories: vec![MemoryState::capture(&memory), MemoryState::capture(&[])],
        tables: vec![vec![3, NULL_REF, 0], vec![]],
        dropped_data: vec![true, false],
        dropped_elems: vec![false],
        stack: (0..40).map(|i| i * 3).collect(),
        frames: vec![
            FrameState {
                func: 4,
                pc: 10,
                base: 0,
            },
            FrameState {
                func: 2,
                pc: 0,
                base: 12,
            },
            FrameState {
                func: 2,
                pc: 31,
                base: 20,
            },
        ],
        fds: vec![
            FdState {
                fd: 0,
                kind: FdKind::Stdio,
                rights: None,
            },
            FdState {
                fd: 1,
                kind: FdKind::Stdio,
                rights: None,
            },
            FdState {
                fd: 3,
                kind: FdKind::Preopen { name: ".".into() },
                rights: None,
            },
            FdState {
                fd: 5,
                kind: FdKind::Opened {
                    file: OpenedFile {
                        dir: 3,
                        path: "out/data.bin".into(),
                        lookup: 1,
                        oflags: 0,
                        rights_base: 0x1fff_ffff,
                        rights_inheriting: 0,
                        fdflags: 1,
                    },
                    offset: 4096,
                },
                rights: Some((0x1f, 0)),
            },
        ],
    }
}

#[test]
fn round_trip_is_exact_and_deterministic() {
    let s = sample();
    let bytes = encode(&s);
    assert_eq!(decode(&bytes).unwrap(), s);
    assert_eq!(
        encode(&decode(&bytes).unwrap()),
        bytes,
        "re-encoding changes nothing"
    );
    assert_eq!(image_of(&bytes).unwrap(), s.image);
    // Only the three non-zero pages of the first memory are stored, compressed.
    assert_eq!(
        s.memories[0]
            .nonzero
            .iter()
            .map(|p| p.0)
            .collect::<Vec<_>>(),
        [0, 2, 3]
    );
    assert!(bytes.len() < 3 * PAGE, "{} bytes", bytes.len());
}

#[test]
fn memory_restores_byte_for_byte() {
    let mut memory = vec![0u8; 3 * PAGE];
    memory[PAGE + 17] = 9;
    memory[3 * PAGE - 2] = 4;
    let state = MemoryState::capture(&memory);
    let mut out = vec![0u8; 3 * PAGE];
    state.restore_into(&mut out).unwrap();
    assert_eq!(out, memory);
    assert!(
        state.restore_into(&mut [0u8; PAGE]).is_err(),
        "a wrong size is refused"
    );
}

/// Re-seals a body edited in place: the checksums are recomputed, so only the decoder's own
/// checks stand between the edit and the runtime.
fn reseal(mut bytes: Vec<u8>) -> Vec<u8> {
    let body_len = (bytes.len() - SNAPSHOT_HEADER_LEN) as u64;
    bytes[40..48].copy_from_slice(&body_len.to_le_bytes());
    let sum = xxhash_rust::xxh3::xxh3_64(&bytes[SNAPSHOT_HEADER_LEN..]);
    bytes[48..56].copy_from_slice(&sum.to_le_bytes());
    let header_sum = xxhash_rust::xxh3::xxh3_64(&bytes[..56]);
    bytes[56..64].copy_from_slice(&header_sum.to_le_bytes());
    bytes
}

/// The byte offset of each section's payload in the file, and its length.
fn sections(bytes: &[u8]) -> Vec<(usize, usize)> {
    let mut at = SNAPSHOT_HEADER_LEN;
    let mut out = Vec::new();
    while at < bytes.len() {
        let len = u64::from_le_bytes(bytes[at + 4..at + 12].try_into().unwrap()) as usize;
        out.push((at + 12, len));
        at += 12 + len;
    }
    out
}

#[test]
fn every_damaged_byte_is_refused() {
    let bytes = encode(&sample());
    for i in 0..bytes.len() {
        let mut bad = bytes.clone();
        bad[i] ^= 0x20;
        assert!(decode(&bad).is_err(), "flipping byte {i} went unnoticed");
    }
    for len in [0, 10, SNAPSHOT_HEADER_LEN, bytes.len() - 1] {
        assert!(decode(&bytes[..len]).is_err(), "truncated to {len}");
    }
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(decode(&longer).is_err());
}

#[test]
fn resealed_mutations_of_every_field_class_are_refused() {
    let good = encode(&sample());
    let secs = sections(&good);
    let mut refused = 0;
    let mut check = |what: &str, bad: Vec<u8>| match decode(&reseal(bad)) {
        Err(SnapshotError::Malformed { .. }) => refused += 1,
        other => panic!("{what}: {other:?}"),
    };
    // Section structure: a tag out of order, a length past the end, bytes left in a section.
    let mut bad = good.clone();
    bad[SNAPSHOT_HEADER_LEN] = 9;
    check("unknown tag", bad);
    let mut bad = good.clone();
    bad[SNAPSHOT_HEADER_LEN + 4..SNAPSHOT_HEADER_LEN + 12].copy_from_slice(&u64::MAX.to_le_bytes());
    check("section length", bad);
    let mut bad = good.clone();
    bad.extend_from_slice(&[0; 3]);
    check("trailing bytes", bad);
    // Process: a count that cannot fit, a string that is not UTF-8.
    let (at, _) = secs[1];
    let mut bad = good.clone();
    bad[at..at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
    check("argv count", bad);
    let mut bad = good.clone();
    bad[at + 8] = 0xff; // first byte of argv[0]
    check("utf-8", bad);
    // Memories: too many pages, a page out of range, out of order, a damaged block.
    let (at, _) = secs[3];
    let mut bad = good.clone();
    bad[at + 4..at + 8].copy_from_slice(&(MAX_PAGES + 1).to_le_bytes());
    check("pages", bad);
    let mut bad = good.clone();
    bad[at + 12..at + 16].copy_from_slice(&7u32.to_le_bytes()); // first page index 0 -> 7 of 4
    check("page index", bad);
    let first_len = u32::from_le_bytes(good[at + 16..at + 20].try_into().unwrap()) as usize;
    let second = at + 20 + first_len;
    let mut bad = good.clone();
    bad[second..second + 4].copy_from_slice(&0u32.to_le_bytes()); // page 2 -> 0, after 0
    check("page order", bad);
    let mut bad = good.clone();
    bad[at + 20] ^= 0xff; // the first block's token
    check("lz4 block", bad);
    // Segments: a flag that is not 0 or 1.
    let (at, _) = secs[5];
    let mut bad = good.clone();
    bad[at + 4] = 2;
    check("dropped flag", bad);
    // Stack: a frame beyond the stack, frames going down.
    let (at, _) = secs[6];
    let frames = at + 4 + 40 * 8 + 4;
    let mut bad = good.clone();
    bad[frames + 8..frames + 12].copy_from_slice(&41u32.to_le_bytes());
    check("frame base beyond the stack", bad);
    let mut bad = good.clone();
    bad[frames + 32..frames + 36].copy_from_slice(&11u32.to_le_bytes()); // bases 0, 12, 11
    check("frame base order", bad);
    let mut bad = good.clone();
    bad[at + 4 + 40 * 8..at + 4 + 40 * 8 + 4].copy_from_slice(&0u32.to_le_bytes());
    check("no frames", bad);
    // Descriptors (number, kind, rights marker: 6 bytes for stdio): out of order, an unknown
    // kind, an unknown rights marker.
    let (at, _) = secs[7];
    let mut bad = good.clone();
    bad[at + 4 + 6..at + 4 + 6 + 4].copy_from_slice(&0u32.to_le_bytes()); // fd 1 -> 0
    check("descriptor order", bad);
    let mut bad = good.clone();
    bad[at + 4 + 4] = 7;
    check("descriptor kind", bad);
    let mut bad = good.clone();
    bad[at + 4 + 5] = 7;
    check("rights marker", bad);
    assert_eq!(refused, 16, "every mutation above was checked");
}

#[test]
fn header_errors_name_the_problem() {
    let good = encode(&sample());
    let mut bad = good.clone();
    bad[0] = b'X';
    assert_eq!(decode(&bad), Err(SnapshotError::BadMagic));
    let mut bad = good.clone();
    bad[8] = 9;
    assert_eq!(decode(&bad), Err(SnapshotError::Version(9)));
    let mut bad = good.clone();
    bad[20] ^= 1; // the image checksum, header not resealed
    assert_eq!(decode(&bad), Err(SnapshotError::HeaderChecksum));
    let mut bad = good.clone();
    let last = bad.len() - 1;
    bad[last] ^= 1;
    assert_eq!(decode(&bad), Err(SnapshotError::BodyChecksum));
    let mut bad = good.clone();
    bad[12] = 1;
    let bad = reseal(bad);
    assert!(matches!(
        decode(&bad),
        Err(SnapshotError::Malformed {
            section: "header",
            ..
        })
    ));
}

#[test]
fn random_resealed_mutations_never_panic() {
    // A fixed xorshift: the same edits every run.
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let good = encode(&sample());
    let (mut accepted, mut refused) = (0, 0);
    for _ in 0..5_000 {
        let mut bad = good.clone();
        for _ in 0..1 + next() % 4 {
            let at = SNAPSHOT_HEADER_LEN + (next() as usize) % (bad.len() - SNAPSHOT_HEADER_LEN);
            bad[at] = next() as u8;
        }
        match decode(&reseal(bad)) {
            // Whatever is accepted is a consistent snapshot: it encodes back to itself.
            Ok(s) => {
                assert_eq!(decode(&encode(&s)).unwrap(), s);
                accepted += 1;
            }
            Err(_) => refused += 1,
        }
    }
    // Most edits land in memory pages, globals or stack slots, which any value may hold (the
    // runtime checks them against the image); the structure around them is refused.
    assert!(
        accepted > 0 && refused > 500,
        "accepted {accepted}, refused {refused}"
    );
}
