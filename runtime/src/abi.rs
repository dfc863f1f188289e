//! The embedding ABI of `chiwawa-rt.wasm`: exports that let a host drive a [`Session`] inside
//! the very runtime module users run (the spec runner's `wasmtime` host uses it).
//!
//! Data goes in through one input buffer the runtime owns (`cw_input` returns its address; the
//! host writes into it) and comes out through one output buffer (`cw_output_ptr/len`), so no
//! export takes a raw pointer. Each call returns a non-negative result, or minus a
//! [`Failure::code`] with the message in the output buffer.

use std::cell::RefCell;

use chiwawa_runtime::driver::{decode_vals, encode_vals, Failure, Session};

thread_local! {
    static SESSION: RefCell<Session> = RefCell::new(Session::new());
    static INPUT: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    static OUTPUT: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

fn finish(result: Result<(i64, Vec<u8>), Failure>) -> i64 {
    let (ret, out) = match result {
        Ok(ok) => ok,
        Err(failure) => (
            -(failure.code() as i64),
            failure.message().as_bytes().to_vec(),
        ),
    };
    OUTPUT.with(|o| *o.borrow_mut() = out);
    ret
}

/// Splits the input into a length-prefixed name and the rest.
fn name_and_rest(input: &[u8]) -> Result<(String, &[u8]), Failure> {
    let bad = || Failure::Other("malformed request".to_string());
    let len = u32::from_le_bytes(
        input
            .get(..4)
            .ok_or_else(bad)?
            .try_into()
            .map_err(|_| bad())?,
    );
    let name = input.get(4..4 + len as usize).ok_or_else(bad)?;
    let name = String::from_utf8(name.to_vec()).map_err(|_| bad())?;
    Ok((name, &input[4 + len as usize..]))
}

fn with_input<T>(f: impl FnOnce(&[u8]) -> T) -> T {
    INPUT.with(|i| f(&i.borrow()))
}

/// Makes the input buffer `len` bytes long and returns its address.
#[unsafe(no_mangle)]
pub extern "C" fn cw_input(len: u32) -> u32 {
    INPUT.with(|i| {
        let mut i = i.borrow_mut();
        i.clear();
        i.resize(len as usize, 0);
        i.as_mut_ptr() as usize as u32
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn cw_output_ptr() -> u32 {
    OUTPUT.with(|o| o.borrow().as_ptr() as usize as u32)
}

#[unsafe(no_mangle)]
pub extern "C" fn cw_output_len() -> u32 {
    OUTPUT.with(|o| o.borrow().len() as u32)
}

/// Starts over with an empty session.
#[unsafe(no_mangle)]
pub extern "C" fn cw_reset() {
    SESSION.with(|s| *s.borrow_mut() = Session::new());
}

/// Loads the image in the input buffer; returns the module id.
#[unsafe(no_mangle)]
pub extern "C" fn cw_load() -> i64 {
    let result = with_input(|image| SESSION.with(|s| s.borrow_mut().load(image)));
    finish(result.map(|m| (m as i64, Vec::new())))
}

#[unsafe(no_mangle)]
pub extern "C" fn cw_instantiate(module: u32) -> i64 {
    let result = SESSION.with(|s| s.borrow_mut().instantiate(module));
    finish(result.map(|i| (i as i64, Vec::new())))
}

/// Registers `instance` under the name in the input buffer (length-prefixed).
#[unsafe(no_mangle)]
pub extern "C" fn cw_register(instance: u32) -> i64 {
    let result = with_input(|input| {
        let (name, _) = name_and_rest(input)?;
        SESSION.with(|s| s.borrow_mut().register(&name, instance))
    });
    finish(result.map(|()| (0, Vec::new())))
}

/// Input: length-prefixed export name, then the arguments as (type, bits) u64 pairs.
/// Output: the results in the same encoding.
#[unsafe(no_mangle)]
pub extern "C" fn cw_invoke(instance: u32) -> i64 {
    let result = with_input(|input| {
        let (name, rest) = name_and_rest(input)?;
        let words: Vec<u64> = rest
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes")))
            .collect();
        let args = decode_vals(&words);
        SESSION.with(|s| s.borrow_mut().invoke(instance, &name, &args))
    });
    finish(result.map(|vals| {
        let bytes = encode_vals(&vals)
            .iter()
            .flat_map(|w| w.to_le_bytes())
            .collect();
        (vals.len() as i64, bytes)
    }))
}

/// Input: length-prefixed global export name. Output: its value as one (type, bits) pair.
#[unsafe(no_mangle)]
pub extern "C" fn cw_global(instance: u32) -> i64 {
    let result = with_input(|input| {
        let (name, _) = name_and_rest(input)?;
        SESSION.with(|s| s.borrow().global(instance, &name))
    });
    finish(result.map(|v| {
        let bytes = encode_vals(&[v])
            .iter()
            .flat_map(|w| w.to_le_bytes())
            .collect();
        (1, bytes)
    }))
}
