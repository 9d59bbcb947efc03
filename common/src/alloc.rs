//! The heap allocator of logbench's programs, chosen once per process: mimalloc (what
//! datafusion-cli links) or the C library's malloc (`system`).
//!
//! Which one is read from `LOGBENCH_ALLOCATOR` at the process's first allocation, before
//! `main`, and never changes after that: every block is freed by the allocator that made it.
//! The choice can therefore be made per run without a second build, and the two can be
//! measured side by side with one binary. A program names the one in use in its results
//! ([`in_use`]) and refuses a value it does not know ([`check`]).

use std::alloc::{GlobalAlloc, Layout, System};
use std::ffi::{CStr, c_char};
use std::sync::atomic::{AtomicU8, Ordering};

use mimalloc::MiMalloc;

/// The environment variable that chooses the allocator: `mimalloc` or `system`.
pub const ENV: &str = "LOGBENCH_ALLOCATOR";

/// The allocator a process uses when [`ENV`] is not set.
pub const DEFAULT: Allocator = Allocator::Mimalloc;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Allocator {
    /// The C library's malloc (glibc's on Linux).
    System,
    Mimalloc,
}

impl Allocator {
    /// The name results record and [`ENV`] takes.
    pub fn name(self) -> &'static str {
        match self {
            Allocator::System => "system",
            Allocator::Mimalloc => "mimalloc",
        }
    }

    fn from_name(name: &[u8]) -> Option<Self> {
        match name {
            b"system" => Some(Allocator::System),
            b"mimalloc" => Some(Allocator::Mimalloc),
            _ => None,
        }
    }
}

const UNREAD: u8 = 0;
const SYSTEM: u8 = 1;
const MIMALLOC: u8 = 2;
/// [`ENV`] held a value no allocator has: the process runs on [`DEFAULT`] until [`check`]
/// stops it.
const UNKNOWN: u8 = 3;

static CHOSEN: AtomicU8 = AtomicU8::new(UNREAD);

unsafe extern "C" {
    fn getenv(name: *const c_char) -> *const c_char;
}

/// The choice, read from the environment on the first call. `getenv` allocates nothing, so
/// this may run inside the first allocation; two threads racing here read the same value.
fn chosen() -> u8 {
    let c = CHOSEN.load(Ordering::Relaxed);
    if c != UNREAD {
        return c;
    }
    // SAFETY: a NUL-terminated name; the C library's environment is set up before any Rust
    // code allocates, and nothing in these programs changes it.
    let value = unsafe { getenv(c"LOGBENCH_ALLOCATOR".as_ptr()) };
    let c = if value.is_null() {
        code(DEFAULT)
    } else {
        // SAFETY: getenv returned a NUL-terminated string that outlives this call.
        let bytes = unsafe { CStr::from_ptr(value) }.to_bytes();
        Allocator::from_name(bytes).map_or(UNKNOWN, code)
    };
    CHOSEN.store(c, Ordering::Relaxed);
    c
}

fn code(a: Allocator) -> u8 {
    match a {
        Allocator::System => SYSTEM,
        Allocator::Mimalloc => MIMALLOC,
    }
}

/// The allocator this process uses (an unknown [`ENV`] value runs on [`DEFAULT`]). A process
/// whose global allocator is not [`Switchable`] never made the choice (the runtime allocates
/// before `main`), and uses the C library's.
pub fn in_use() -> Allocator {
    match CHOSEN.load(Ordering::Relaxed) {
        UNREAD | SYSTEM => Allocator::System,
        MIMALLOC => Allocator::Mimalloc,
        _ => DEFAULT,
    }
}

/// A one-line refusal when [`ENV`] names no allocator; programs call it first thing.
pub fn check() -> Result<(), String> {
    if CHOSEN.load(Ordering::Relaxed) == UNKNOWN {
        let v = std::env::var_os(ENV).unwrap_or_default();
        return Err(format!(
            "{ENV}={}: not an allocator (system or mimalloc)",
            v.to_string_lossy()
        ));
    }
    Ok(())
}

/// The global allocator: `#[global_allocator] static A: Switchable = Switchable;`.
pub struct Switchable;

// SAFETY: every call goes to the one allocator chosen for the whole process, which upholds
// GlobalAlloc's contract itself; a block is always freed or grown by the allocator that made it.
unsafe impl GlobalAlloc for Switchable {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if chosen() == SYSTEM {
            unsafe { System.alloc(layout) }
        } else {
            unsafe { MiMalloc.alloc(layout) }
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if chosen() == SYSTEM {
            unsafe { System.alloc_zeroed(layout) }
        } else {
            unsafe { MiMalloc.alloc_zeroed(layout) }
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if chosen() == SYSTEM {
            unsafe { System.dealloc(ptr, layout) }
        } else {
            unsafe { MiMalloc.dealloc(ptr, layout) }
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if chosen() == SYSTEM {
            unsafe { System.realloc(ptr, layout, new_size) }
        } else {
            unsafe { MiMalloc.realloc(ptr, layout, new_size) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_others_are_refused() {
        for a in [Allocator::System, Allocator::Mimalloc] {
            assert_eq!(Allocator::from_name(a.name().as_bytes()), Some(a));
        }
        assert_eq!(Allocator::from_name(b"jemalloc"), None);
        assert_eq!(Allocator::from_name(b""), None);
    }
}
