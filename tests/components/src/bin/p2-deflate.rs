//! Compression through WASI preview 2: compresses the file named by its argument with the crate
//! miniz_oxide (zlib format), writes the result beside it, reads it back, decompresses it and
//! checks the round trip.
use std::io::Write;

fn main() {
    let path = std::env::args().nth(1).expect("usage: p2-deflate FILE");
    let data = std::fs::read(&path).expect("read the input");
    let packed = miniz_oxide::deflate::compress_to_vec_zlib(&data, 9);
    let out = format!("{path}.z");
    std::fs::File::create(&out)
        .and_then(|mut f| f.write_all(&packed))
        .expect("write the output");
    let again = std::fs::read(&out).expect("read the output back");
    let unpacked = miniz_oxide::inflate::decompress_to_vec_zlib(&again).expect("inflate");
    println!("{path}: {} bytes -> {} bytes", data.len(), packed.len());
    println!(
        "round trip: {}",
        if unpacked == data {
            "identical"
        } else {
            "DIFFERS"
        }
    );
    let checksum = data
        .iter()
        .fold(1u32, |a, &b| a.wrapping_mul(31).wrapping_add(u32::from(b)));
    println!("checksum {checksum:08x}");
}
