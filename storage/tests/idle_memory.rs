//! Store::shrink_idle gives the memtables' memory back: measured with a
//! counting global allocator (live bytes of the whole test process), so
//! this file holds only this test.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

use common::{account, assert_consistent, msg, new_msg};

/// Counts the bytes currently allocated.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call is forwarded to the system allocator unchanged; the
// counter is only arithmetic.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

fn live() -> isize {
    LIVE.load(Ordering::Relaxed)
}

#[test]
fn shrink_frees_the_memtables_memory() {
    let (_dir, store, acct) = account();
    let inbox = acct.mailbox("INBOX").unwrap().id;
    // Below the 1 MiB memtable size, so fjall flushes nothing by itself.
    let data: Vec<Vec<u8>> = (1..=600).map(msg).collect();
    for chunk in data.chunks(100) {
        let msgs: Vec<_> = chunk.iter().map(|d| new_msg(d)).collect();
        acct.import(inbox, &msgs).unwrap();
    }
    let held = store.memtable_bytes() as isize;
    assert!(held > 200_000, "{held}");
    let before = live();

    let report = store.shrink_idle().unwrap();
    assert_eq!(report.memtable_bytes_before as isize, held);
    // fjall's worker frees the last bytes just after the flush is done.
    let mut freed = before - live();
    for _ in 0..200 {
        if freed >= held {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
        freed = before - live();
    }
    // At least what the memtables held (their skiplists cost more).
    assert!(freed >= held, "freed {freed} of {held} bytes in memtables");

    let recs = acct.messages_in(inbox, 1..=u32::MAX).unwrap();
    assert_eq!(recs.len(), 600);
    for (m, d) in recs.iter().zip(&data) {
        assert_eq!(&acct.read_message(m).unwrap(), d);
    }
    assert_consistent(&store);
}
