//! Checked access to the calling guest's linear memory.
//!
//! Every guest pointer a WASI call receives is checked here against the guest's own memory (not
//! the runtime's), with the alignment the preview1 ABI gives its type, before anything reads or
//! writes through it. As in wasmtime (following the witx pointer rules), an out-of-bounds or
//! misaligned pointer traps; it never becomes an errno.

use std::ops::Range;

use crate::trap::{Trap, TrapKind};

/// Size and alignment of an `iovec` / `ciovec` in the wasm32 ABI: `{ buf: u32, buf_len: u32 }`.
pub const IOVEC_SIZE: u32 = 8;
pub const IOVEC_ALIGN: u32 = 4;

/// At most this many iovecs of one call are used (POSIX's usual IOV_MAX), so the runtime never
/// allocates in proportion to a guest-chosen count; beyond it the transfer is short, which
/// readv/writev callers must handle anyway. The whole array is still checked.
pub const IOV_MAX: u32 = 1024;

/// The calling instance's memory 0, or nothing when the module has no memory (then every pointer
/// access traps with "memory not exported", like wasmtime).
pub struct GuestMemory<'a> {
    bytes: Option<&'a mut [u8]>,
}

fn out_of_bounds() -> Trap {
    Trap::new(TrapKind::MemoryOutOfBounds)
}

fn misaligned(addr: u32, align: u32) -> Trap {
    Trap::new(TrapKind::Host(format!(
        "wasi: pointer {addr:#x} is not aligned to {align} bytes"
    )))
}

impl<'a> GuestMemory<'a> {
    /// The guest memory `bytes`.
    pub fn new(bytes: &'a mut [u8]) -> GuestMemory<'a> {
        GuestMemory { bytes: Some(bytes) }
    }

    /// A caller without memory.
    pub fn none() -> GuestMemory<'static> {
        GuestMemory { bytes: None }
    }

    fn all(&self) -> Result<&[u8], Trap> {
        match &self.bytes {
            Some(bytes) => Ok(bytes),
            None => Err(Trap::new(TrapKind::Host(
                "wasi: memory not exported".into(),
            ))),
        }
    }

    fn all_mut(&mut self) -> Result<&mut [u8], Trap> {
        match &mut self.bytes {
            Some(bytes) => Ok(bytes),
            None => Err(Trap::new(TrapKind::Host(
                "wasi: memory not exported".into(),
            ))),
        }
    }

    /// All of guest memory, for writers that address it with already checked guest addresses.
    pub fn bytes_mut(&mut self) -> Result<&mut [u8], Trap> {
        self.all_mut()
    }

    /// The guest memory's size in bytes (0 without memory).
    pub fn len(&self) -> usize {
        self.bytes.as_ref().map_or(0, |b| b.len())
    }

    /// Whether the guest has no memory (or an empty one).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The byte range `[addr, addr + len)`, checked to lie inside guest memory with `addr` a
    /// multiple of `align` (a guest address: guest memory itself is 16-byte aligned in the
    /// runtime, so the runtime address is aligned too). A zero-length range must still start
    /// inside memory or at its end.
    pub fn range(&self, addr: u32, len: u64, align: u32) -> Result<Range<usize>, Trap> {
        let size = self.all()?.len() as u64;
        if !addr.is_multiple_of(align) {
            return Err(misaligned(addr, align));
        }
        let end = u64::from(addr).checked_add(len).ok_or_else(out_of_bounds)?;
        if end > size {
            return Err(out_of_bounds());
        }
        Ok(addr as usize..end as usize)
    }

    /// The range of an array of `count` elements of `size` bytes at `addr`.
    pub fn array(
        &self,
        addr: u32,
        count: u32,
        size: u32,
        align: u32,
    ) -> Result<Range<usize>, Trap> {
        let len = u64::from(count)
            .checked_mul(u64::from(size))
            .ok_or_else(out_of_bounds)?;
        self.range(addr, len, align)
    }

    /// The `len` bytes at `addr`; a trap if they are not all inside the memory.
    pub fn slice(&self, addr: u32, len: u32) -> Result<&[u8], Trap> {
        let range = self.range(addr, u64::from(len), 1)?;
        Ok(&self.all()?[range])
    }

    /// The `len` bytes at `addr`, to write; a trap if they are not all inside the memory.
    pub fn slice_mut(&mut self, addr: u32, len: u32) -> Result<&mut [u8], Trap> {
        let range = self.range(addr, u64::from(len), 1)?;
        Ok(&mut self.all_mut()?[range])
    }

    fn read<const N: usize>(&self, addr: u32) -> Result<[u8; N], Trap> {
        let range = self.range(addr, N as u64, N as u32)?;
        let mut out = [0; N];
        out.copy_from_slice(&self.all()?[range]);
        Ok(out)
    }

    /// The little-endian u16 at `addr`.
    pub fn read_u16(&self, addr: u32) -> Result<u16, Trap> {
        self.read(addr).map(u16::from_le_bytes)
    }

    /// The little-endian u32 at `addr`.
    pub fn read_u32(&self, addr: u32) -> Result<u32, Trap> {
        self.read(addr).map(u32::from_le_bytes)
    }

    /// The little-endian u64 at `addr`.
    pub fn read_u64(&self, addr: u32) -> Result<u64, Trap> {
        self.read(addr).map(u64::from_le_bytes)
    }

    /// Writes `bytes` at `addr`, which must be aligned to `align` (a struct's alignment).
    pub fn write(&mut self, addr: u32, bytes: &[u8], align: u32) -> Result<(), Trap> {
        let len = u64::try_from(bytes.len()).map_err(|_| out_of_bounds())?;
        let range = self.range(addr, len, align)?;
        self.all_mut()?[range].copy_from_slice(bytes);
        Ok(())
    }

    /// Writes `value` as a little-endian u16 at `addr`.
    pub fn write_u16(&mut self, addr: u32, value: u16) -> Result<(), Trap> {
        self.write(addr, &value.to_le_bytes(), 2)
    }

    /// Writes `value` as a little-endian u32 at `addr`.
    pub fn write_u32(&mut self, addr: u32, value: u32) -> Result<(), Trap> {
        self.write(addr, &value.to_le_bytes(), 4)
    }

    /// Writes `value` as a little-endian u64 at `addr`.
    pub fn write_u64(&mut self, addr: u32, value: u64) -> Result<(), Trap> {
        self.write(addr, &value.to_le_bytes(), 8)
    }

    /// Reads the `(buf, buf_len)` pairs of an iovec array and checks the whole array and every
    /// buffer it names. `limit` bounds how many are returned (the rest are still checked to be
    /// inside the array's extent, not dereferenced).
    pub fn iovecs(&self, addr: u32, count: u32, limit: u32) -> Result<Vec<(u32, u32)>, Trap> {
        self.array(addr, count, IOVEC_SIZE, IOVEC_ALIGN)?;
        let n = count.min(limit);
        let mut out = Vec::with_capacity(n as usize);
        for i in 0..n {
            let at = addr + i * IOVEC_SIZE;
            let (buf, len) = (self.read_u32(at)?, self.read_u32(at + 4)?);
            self.range(buf, u64::from(len), 1)?;
            out.push((buf, len));
        }
        Ok(out)
    }

    /// The runtime address of guest address 0, for handing checked guest ranges to the host.
    /// Take it after all reads through `self`, then only offset it by checked guest addresses.
    #[cfg(target_os = "wasi")]
    pub fn base(&mut self) -> Result<*mut u8, Trap> {
        Ok(self.all_mut()?.as_mut_ptr())
    }
}
