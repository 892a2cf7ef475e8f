//! Step 0, the process: tuning glibc's allocator for many small threads.
//! These calls exist only in glibc; with another C library (musl) they
//! compile to nothing.

/// One malloc arena for the whole process: many connection threads each
/// allocate a little and rarely, and separate arenas would only add
/// fragmented heaps, not speed. Call before starting any thread.
pub fn one_arena() {
    #[cfg(target_env = "gnu")]
    // SAFETY: mallopt only sets an allocator parameter; no other thread
    // allocates yet.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
}

/// Returns free heap pages to the system: after a burst the heap is full
/// of freed frames and queues, which glibc keeps unless asked.
pub fn trim() {
    #[cfg(target_env = "gnu")]
    // SAFETY: malloc_trim only releases memory that is already free.
    unsafe {
        libc::malloc_trim(0);
    }
}
