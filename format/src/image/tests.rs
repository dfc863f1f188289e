use super::*;

fn sample() -> Module {
    Module {
        types: vec![FuncType {
            params: vec![valtype::I32],
            results: vec![valtype::I64],
        }],
        func_types: vec![0],
        funcs: vec![Func {
            ty: 0,
            num_locals: 1,
            frame_size: 2,
            consts: vec![],
            code: vec![1, 2, 3],
            ..Func::default()
        }],
        exports: vec![Export {
            name: "f".into(),
            kind: extern_kind::FUNC,
            index: 0,
        }],
        ..Module::default()
    }
}

#[test]
fn image_round_trips() {
    let bytes = write_image(&mut sample(), pack_version("0.1.0"), features::WASM2, 0, 7).unwrap();
    let image = LoadedImage::from_bytes(&bytes).unwrap();
    assert_eq!(image.header().source_hash, 7);
    assert!(
        image.func_code(0).is_none(),
        "code is handed out only once checked"
    );
    image.ensure_group(0).unwrap();
    let code: Vec<u16> = image
        .func_code(0)
        .unwrap()
        .iter()
        .map(|u| u.to_native())
        .collect();
    assert_eq!(code, [1, 2, 3]);
    assert_eq!(image.module().exports[0].name.as_str(), "f");
}

#[test]
fn the_one_pass_checksum_is_the_header_checksum() {
    let mut module = sample();
    for n in [0, 1, 40, 300, 5000] {
        module.funcs[0].code = (0..n).collect();
        let mut bytes = write_image(&mut module, 1, features::WASM2, 0, 7).unwrap();
        let before = bytes.clone();
        let header = read_header(&bytes).unwrap();
        let head = &mut bytes[..header.head_len() as usize];
        assert_eq!(checksum_in_place(head), header.checksum, "{n} units");
        assert_eq!(bytes, before, "the image is put back");
    }
}

#[test]
fn image_buffers_start_aligned_and_hold_the_image() {
    let bytes: Vec<u8> = (0..1000u32).map(|i| i as u8).collect();
    for len in [0, 1, 15, 16, 17, 999, 1000] {
        let buf = ImageBuf::copy_of(&bytes[..len]);
        assert_eq!(&buf[..], &bytes[..len]);
        assert!(buf.is_aligned());
    }
    // A buffer whose image starts misaligned (as after a reallocation) is copied aligned.
    let mut moved = ImageBuf::with_capacity(100);
    moved.start = if moved.start == 0 { 1 } else { moved.start - 1 };
    moved.bytes.resize(moved.start, 0);
    moved.bytes.extend_from_slice(&bytes[..100]);
    assert!(!moved.is_aligned());
    let buf = moved.realign();
    assert!(buf.is_aligned());
    assert_eq!(&buf[..], &bytes[..100]);
}

#[test]
fn damage_is_detected() {
    let bytes = write_image(&mut sample(), 1, features::WASM2, 0, 7).unwrap();
    for i in 0..bytes.len() {
        let mut bad = bytes.clone();
        bad[i] ^= 0x40;
        // A flip in the code region shows when its group is first used.
        let result = LoadedImage::from_bytes(&bad).and_then(|image| image.ensure_all_code());
        assert!(result.is_err(), "flip at {i} accepted");
    }
    assert!(matches!(
        LoadedImage::from_bytes(&bytes[..bytes.len() - 1]),
        Err(ImageError::LengthMismatch { .. })
    ));
    assert!(matches!(
        LoadedImage::from_bytes(&bytes[..10]),
        Err(ImageError::Truncated { .. })
    ));
}

#[test]
fn an_image_of_another_instruction_set_is_refused_by_name() {
    let bytes = write_image(&mut sample(), 1, features::WASM2, 0, 7).unwrap();
    assert_eq!(read_header(&bytes).unwrap().isa, crate::ISA_FINGERPRINT);
    // As another build would write it: a valid checksum over another fingerprint.
    let mut other = bytes.clone();
    let isa = header_at::ISA..header_at::ISA + 8;
    other[isa].copy_from_slice(&(crate::ISA_FINGERPRINT ^ 1).to_le_bytes());
    reseal(&mut other).unwrap();
    let err = LoadedImage::from_bytes(&other).err().expect("refused");
    assert!(matches!(err, ImageError::Isa(f) if f == crate::ISA_FINGERPRINT ^ 1));
    assert!(err.to_string().contains("another instruction set"), "{err}");
    // The reserved field must stay zero, so that a later version can give it a meaning.
    let mut reserved = bytes.clone();
    reserved[header_at::RESERVED] = 1;
    reseal(&mut reserved).unwrap();
    assert!(matches!(
        LoadedImage::from_bytes(&reserved),
        Err(ImageError::Header(_))
    ));
    // A header that claims more archive than there is cannot be resealed.
    for claim in [u64::MAX, u64::MAX - 79, bytes.len() as u64] {
        let mut long = bytes.clone();
        long[header_at::PAYLOAD_LEN..header_at::PAYLOAD_LEN + 8]
            .copy_from_slice(&claim.to_le_bytes());
        assert!(matches!(
            reseal(&mut long),
            Err(ImageError::LengthMismatch { .. })
        ));
    }
    // Resealing an intact image changes nothing.
    let mut same = bytes.clone();
    reseal(&mut same).unwrap();
    assert_eq!(same, bytes);
}

/// A module of `n` functions whose code is `len(i)` units of `i`.
fn functions(n: usize, len: impl Fn(usize) -> usize) -> Module {
    Module {
        types: vec![FuncType {
            params: vec![],
            results: vec![],
        }],
        func_types: vec![0; n],
        funcs: (0..n)
            .map(|i| Func {
                frame_size: 1,
                code: vec![i as u16; len(i)],
                ..Func::default()
            })
            .collect(),
        ..Module::default()
    }
}

/// The image file, read through `CodeSource`, counting reads.
struct FileBytes {
    bytes: Vec<u8>,
    reads: std::rc::Rc<std::cell::Cell<usize>>,
}

impl CodeSource for FileBytes {
    unsafe fn read_exact_at(&self, dst: *mut u8, len: usize, offset: u64) -> std::io::Result<()> {
        self.reads.set(self.reads.get() + 1);
        let from = usize::try_from(offset).unwrap();
        let src = self
            .bytes
            .get(from..from + len)
            .ok_or(std::io::ErrorKind::UnexpectedEof)?;
        // SAFETY: the caller's guarantee: `dst` is valid for `len` bytes.
        unsafe { std::ptr::copy_nonoverlapping(src.as_ptr(), dst, len) };
        Ok(())
    }
}

fn lazy(bytes: &[u8]) -> (LoadedImage, std::rc::Rc<std::cell::Cell<usize>>) {
    let head = read_head(&mut &bytes[..], bytes.len() as u64).unwrap();
    let reads = std::rc::Rc::new(std::cell::Cell::new(0));
    let source = FileBytes {
        bytes: bytes.to_vec(),
        reads: reads.clone(),
    };
    (
        LoadedImage::from_head(head, Box::new(source)).unwrap(),
        reads,
    )
}

#[test]
fn code_is_cut_into_groups_of_whole_functions() {
    // 10 functions of 3000 units: two to a group (6000 <= 8192, 9000 is more); then one of
    // 20000 units, a group of its own.
    let mut module = functions(11, |i| if i == 10 { 20000 } else { 3000 });
    let bytes = write_image(&mut module, 1, features::WASM2, 0, 7).unwrap();
    let header = read_header(&bytes).unwrap();
    assert_eq!(header.code_units, 50000);
    assert_eq!(bytes.len() as u64, header.file_len());
    let groups: Vec<(u32, u32)> = module
        .code_groups
        .iter()
        .map(|g| (g.start, g.len))
        .collect();
    assert_eq!(
        groups,
        [
            (0, 6000),
            (6000, 6000),
            (12000, 6000),
            (18000, 6000),
            (24000, 6000),
            (30000, 20000)
        ]
    );
    let place: Vec<(u32, u32)> = module
        .funcs
        .iter()
        .map(|f| (f.group, f.code_start))
        .collect();
    assert_eq!(place[..4], [(0, 0), (0, 3000), (1, 6000), (1, 9000)]);
    assert_eq!(place[10], (5, 30000));
}

#[test]
fn a_file_backed_image_reads_each_group_once_on_first_use() {
    let mut module = functions(11, |i| if i == 10 { 20000 } else { 3000 });
    let bytes = write_image(&mut module, 1, features::WASM2, 0, 7).unwrap();
    let (image, reads) = lazy(&bytes);
    assert_eq!((reads.get(), image.code_loaded()), (0, (0, 0)));
    assert!(image.func_code(3).is_none());
    image.ensure_group(1).unwrap();
    image.ensure_group(1).unwrap();
    assert_eq!((reads.get(), image.code_loaded()), (1, (1, 12000)));
    assert!(image.func_code(0).is_none(), "group 0 is not read");
    let code = image.func_code(3).unwrap();
    assert_eq!(code.len(), 3000);
    assert!(code.iter().all(|u| u.to_native() == 3));
    assert_eq!(image.func_code_ptr(3), code.as_ptr());
    // The rest in two reads: group 0, and groups 2..6 (group 1 is in place).
    image.ensure_all_code().unwrap();
    assert_eq!(reads.get(), 3);
    assert_eq!(image.code_loaded(), (6, 100000));
    for i in 0..11 {
        let code = image.func_code(i).unwrap();
        assert!(
            code.iter().all(|u| u.to_native() == i as u16),
            "function {i}"
        );
    }
}

#[test]
fn damaged_code_is_refused_when_its_group_is_first_used() {
    let mut module = functions(4, |_| 5000);
    let bytes = write_image(&mut module, 1, features::WASM2, 0, 7).unwrap();
    let header = read_header(&bytes).unwrap();
    let mut bad = bytes.clone();
    // A unit of function 2 (group 2).
    bad[header.code_offset() as usize + 2 * 10_000 + 6] ^= 1;
    let (image, _) = lazy(&bad);
    image.ensure_group(0).unwrap();
    image.ensure_group(1).unwrap();
    assert!(matches!(
        image.ensure_group(2),
        Err(ImageError::CodeChecksum { group: 2 })
    ));
    assert!(image.func_code(2).is_none());
    image.ensure_group(3).unwrap();
    // Nor is it handed out later.
    assert!(image.ensure_group(2).is_err());
    assert!(image.ensure_all_code().is_err());
    // The same image in memory: the same answer.
    let image = LoadedImage::from_bytes(&bad).unwrap();
    assert!(matches!(
        image.ensure_group(2),
        Err(ImageError::CodeChecksum { group: 2 })
    ));
}

#[test]
fn a_head_that_does_not_fit_the_file_is_refused() {
    let bytes = write_image(&mut functions(2, |_| 10), 1, features::WASM2, 0, 7).unwrap();
    let len = bytes.len() as u64;
    assert!(matches!(
        read_head(&mut &bytes[..], len + 2),
        Err(ImageError::LengthMismatch { .. })
    ));
    assert!(matches!(
        read_head(&mut &bytes[..40], len),
        Err(ImageError::Truncated { len: 40 })
    ));
    let header = read_header(&bytes).unwrap();
    let short = &bytes[..header.head_len() as usize - 1];
    assert!(matches!(
        read_head(&mut &short[..], len),
        Err(ImageError::LengthMismatch { .. })
    ));
    // A file whose code region is cut short fails when the group is read.
    let (image, _) = lazy(&bytes);
    image.ensure_all_code().unwrap();
    let head = read_head(&mut &bytes[..], len).unwrap();
    let source = FileBytes {
        bytes: bytes[..bytes.len() - 1].to_vec(),
        reads: Default::default(),
    };
    let image = LoadedImage::from_head(head, Box::new(source)).unwrap();
    assert!(matches!(image.ensure_group(0), Err(ImageError::Io(_))));
}

#[test]
fn a_layout_outside_the_region_is_refused() {
    let mut module = functions(3, |_| 10);
    write_image(&mut module, 1, features::WASM2, 0, 7).unwrap();
    type Damage = fn(&mut Module);
    let cases: [(&str, Damage); 4] = [
        ("outside its group", |m| m.funcs[1].code_start = 25),
        ("does not exist", |m| m.funcs[2].group = 1),
        ("starts at unit", |m| m.code_groups[0].start = 1),
        ("the region has", |m| m.code_groups[0].len = 29),
    ];
    for (want, damage) in cases {
        let mut m = module.clone();
        damage(&mut m);
        let archive = rkyv::to_bytes::<BoxedError>(&m).unwrap();
        let archived = rkyv::access::<ArchivedModule, BoxedError>(&archive).unwrap();
        let err = check_layout(archived, 30).unwrap_err().to_string();
        assert!(err.contains(want), "{want}: {err}");
    }
}

#[test]
fn a_head_longer_than_the_first_read_is_read_whole() {
    let mut module = functions(3, |_| 100);
    module.datas.push(Data {
        mode: DataMode::Passive,
        bytes: (0..FIRST_READ as u32 + 5000).map(|i| i as u8).collect(),
    });
    let bytes = write_image(&mut module, 1, features::WASM2, 0, 7).unwrap();
    let header = read_header(&bytes).unwrap();
    assert!(header.head_len() > FIRST_READ as u64);
    let (image, _) = lazy(&bytes);
    assert_eq!(image.module().datas[0].bytes.len(), FIRST_READ + 5000);
    image.ensure_all_code().unwrap();
    assert_eq!(image.func_code(2).unwrap().len(), 100);
    // A head shorter than the first read leaves the rest (code) to the groups.
    let small = write_image(&mut functions(3, |_| 100), 1, features::WASM2, 0, 7).unwrap();
    let head = read_head(&mut &small[..], small.len() as u64).unwrap();
    assert_eq!(head.len() as u64, read_header(&small).unwrap().head_len());
}

#[test]
fn functions_without_code_still_give_a_well_formed_image() {
    for lens in [
        vec![0],
        vec![0, 0],
        vec![9000, 0],
        vec![0, 9000, 0],
        vec![8192, 0, 1],
    ] {
        let n = lens.len();
        let mut module = functions(n, |i| lens[i]);
        let bytes = write_image(&mut module, 1, features::WASM2, 0, 7).unwrap();
        let image = LoadedImage::from_bytes(&bytes).unwrap_or_else(|e| panic!("{lens:?}: {e}"));
        image.ensure_all_code().unwrap();
        for (i, &len) in lens.iter().enumerate() {
            assert_eq!(
                image.func_code(i).unwrap().len(),
                len,
                "{lens:?} function {i}"
            );
        }
    }
}
