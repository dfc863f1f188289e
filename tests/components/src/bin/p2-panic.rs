//! A panic: the message on stderr and the trap's exit status.
fn main() {
    println!("before the panic");
    let v: Vec<u32> = Vec::new();
    let i = std::env::args().count() + 2;
    println!("{}", v[i]);
}
