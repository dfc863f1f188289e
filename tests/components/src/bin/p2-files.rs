//! Files and directories in the preopened directory, through WASI preview 2.
use std::fs;
use std::io::{Seek, SeekFrom, Write};

fn main() {
    fs::create_dir_all("p2-out/sub").expect("mkdir");
    let mut f = fs::File::create("p2-out/data.txt").expect("create");
    writeln!(f, "line one").unwrap();
    writeln!(f, "line two").unwrap();
    f.seek(SeekFrom::Start(5)).unwrap();
    f.write_all(b"ONE").unwrap();
    drop(f);
    fs::write("p2-out/sub/note.txt", "note\n").expect("write");
    let text = fs::read_to_string("p2-out/data.txt").expect("read");
    print!("{text}");
    let mut names: Vec<String> = fs::read_dir("p2-out")
        .expect("read_dir")
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    println!("entries: {names:?}");
    let meta = fs::metadata("p2-out/data.txt").expect("metadata");
    println!("size {} dir {}", meta.len(), meta.is_dir());
    fs::rename("p2-out/sub/note.txt", "p2-out/moved.txt").expect("rename");
    fs::remove_dir("p2-out/sub").expect("rmdir");
    match fs::read("p2-out/missing") {
        Ok(_) => println!("missing exists?"),
        Err(e) => println!("missing: {:?}", e.kind()),
    }
}
