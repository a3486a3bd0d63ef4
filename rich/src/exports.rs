//! The module's exports, for the widget (`src/rich.rs`): it asks for room with [`input`], writes
//! its question there, calls [`highlight`] or [`mathml`], which return the answer's length, and
//! reads the answer at [`output`]. The answer stays until the next question. The module imports
//! nothing.
//!
//! Built without the standard library: memory comes from [`Bump`], and a panic (which the code
//! does not mean to have) traps, which the widget takes as "no answer".

use core::alloc::{GlobalAlloc, Layout};
use core::arch::wasm32;
use core::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use alloc::vec::Vec;

/// The question's place and length, and the answer's place.
static INPUT: AtomicUsize = AtomicUsize::new(0);
static INPUT_LEN: AtomicUsize = AtomicUsize::new(0);
static OUTPUT: AtomicUsize = AtomicUsize::new(0);

/// Room for the next question, `len` bytes: where they start in the module's memory. Everything
/// the last question used is free again from here on.
#[no_mangle]
pub extern "C" fn input(len: usize) -> *mut u8 {
    Bump::reset();
    let mut room = Vec::<u8>::with_capacity(len);
    let start = room.as_mut_ptr();
    core::mem::forget(room);
    INPUT.store(start as usize, Relaxed);
    INPUT_LEN.store(len, Relaxed);
    start
}

/// Where the last answer starts.
#[no_mangle]
pub extern "C" fn output() -> *const u8 {
    OUTPUT.load(Relaxed) as *const u8
}

/// Highlights: the input is the language's name (`language_len` bytes) followed by the code.
/// Returns the answer's length ([`crate::highlighted`]).
#[no_mangle]
pub extern "C" fn highlight(language_len: usize) -> usize {
    answer(|input| {
        let (language, code) = input.split_at_checked(language_len)?;
        Some(crate::highlighted(
            core::str::from_utf8(language).ok()?,
            core::str::from_utf8(code).ok()?,
        ))
    })
}

/// TeX to MathML: the input is the TeX; `display` is 1 for a displayed formula. Returns the
/// answer's length, 0 when the formula is not math the reader knows ([`crate::mathml`]).
#[no_mangle]
pub extern "C" fn mathml(display: u32) -> usize {
    answer(|input| {
        Some(crate::mathml(
            core::str::from_utf8(input).ok()?,
            display == 1,
        ))
    })
}

/// Runs `work` on the input and keeps its answer (empty for malformed input) until the next
/// question.
fn answer(work: impl FnOnce(&[u8]) -> Option<Vec<u8>>) -> usize {
    let (start, len) = (INPUT.load(Relaxed), INPUT_LEN.load(Relaxed));
    if start == 0 {
        return 0;
    }
    // SAFETY: `input` reserved these bytes, and nothing else is given them before the next
    // question; the widget wrote them (any bytes are valid `u8`s).
    let input = unsafe { core::slice::from_raw_parts(start as *const u8, len) };
    let answer = work(input).unwrap_or_default();
    let len = answer.len();
    OUTPUT.store(answer.as_ptr() as usize, Relaxed);
    core::mem::forget(answer);
    len
}

/// A bump allocator: each allocation takes the next bytes of memory (growing it when needed), and
/// nothing is freed until [`Bump::reset`] frees everything at once, when the next question comes.
/// One question's work is small and short-lived, so this costs a few hundred bytes where a general
/// allocator costs kilobytes; what a question needs at most stays reserved for the next.
struct Bump;

#[global_allocator]
static ALLOCATOR: Bump = Bump;

/// The first free byte (0 before the first question).
static NEXT: AtomicUsize = AtomicUsize::new(0);

extern "C" {
    /// Where the linker puts the start of the heap, after the stack and the data.
    static __heap_base: u8;
}

const PAGE: usize = 65_536;

impl Bump {
    fn reset() {
        // Only the symbol's address is taken.
        NEXT.store(core::ptr::addr_of!(__heap_base) as usize, Relaxed);
    }
}

unsafe impl GlobalAlloc for Bump {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if NEXT.load(Relaxed) == 0 {
            Bump::reset();
        }
        let Some(start) = NEXT.load(Relaxed).checked_next_multiple_of(layout.align()) else {
            return core::ptr::null_mut();
        };
        let Some(end) = start.checked_add(layout.size()) else {
            return core::ptr::null_mut();
        };
        let have = wasm32::memory_size(0) * PAGE;
        if end > have && wasm32::memory_grow(0, (end - have).div_ceil(PAGE)) == usize::MAX {
            return core::ptr::null_mut();
        }
        NEXT.store(end, Relaxed);
        start as *mut u8
    }

    unsafe fn dealloc(&self, _: *mut u8, _: Layout) {}

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // The last allocation grows in place (a vector being filled, usually).
        let start = ptr as usize;
        if start + layout.size() == NEXT.load(Relaxed) {
            if let Some(end) = start.checked_add(new_size) {
                let have = wasm32::memory_size(0) * PAGE;
                if end <= have || wasm32::memory_grow(0, (end - have).div_ceil(PAGE)) != usize::MAX
                {
                    NEXT.store(end, Relaxed);
                    return ptr;
                }
            }
            return core::ptr::null_mut();
        }
        // SAFETY: as `GlobalAlloc::realloc` requires of its caller, forwarded.
        let new =
            unsafe { self.alloc(Layout::from_size_align_unchecked(new_size, layout.align())) };
        if !new.is_null() {
            // SAFETY: both are valid for the smaller size and do not overlap (`new` is past `ptr`'s end).
            unsafe { core::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size)) };
        }
        new
    }
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    wasm32::unreachable()
}
