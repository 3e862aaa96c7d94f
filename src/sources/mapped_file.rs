//! An input file read through a memory map: lines are slices of the page cache itself, so
//! reading costs no copy into a buffer (the kernel's copy was a fifth of file-fed q0).
//!
//! A mapped file that shrinks while it is read would fault on its lost pages (`SIGBUS`),
//! which ends the process without a word; weir's handler for that signal says what
//! happened and exits with status 1 instead, as a read that found the file shorter would.

use std::fs::File;
use std::io;
use std::path::Path;
use std::sync::Once;

use memmap2::{Advice, Mmap, UncheckedAdvice};

/// The bytes of one input file, mapped for reading.
pub(crate) struct MappedFile {
    /// `None` for an empty file, which cannot be mapped.
    map: Option<Mmap>,
}

impl MappedFile {
    /// Maps the file at `path`, which must still be `len` bytes long.
    pub(crate) fn open(path: &Path, len: u64) -> io::Result<MappedFile> {
        let file = File::open(path)?;
        let now = file.metadata()?.len();
        if now != len {
            return Err(io::Error::other(format!(
                "{} is {now} bytes, not the {len} it was when the input was resolved: it changed while being read",
                path.display()
            )));
        }
        if len == 0 {
            return Ok(MappedFile { map: None });
        }
        say_why_on_sigbus();
        // SAFETY: the map is only read, and only within `len`. A file truncated while mapped
        // makes a read of its lost pages raise SIGBUS, which `say_why_on_sigbus` turns into a
        // message and an exit; no read ever sees memory that is not the file's.
        let map = unsafe { Mmap::map(&file)? };
        // Sequential reading: the kernel reads ahead and maps many pages per fault. Advice
        // only; a kernel that ignores it reads all the same.
        let _ = map.advise(Advice::Sequential);
        Ok(MappedFile { map: Some(map) })
    }

    /// The file's bytes.
    #[inline]
    pub(crate) fn bytes(&self) -> &[u8] {
        self.map.as_deref().unwrap_or(&[])
    }

    /// Unmaps the pages of bytes `from..to`, read and no longer needed, so that the
    /// process's resident memory counts what it holds, not the file (the page cache keeps
    /// them; a later read maps them again).
    pub(crate) fn release(&self, from: usize, to: usize) {
        if let Some(map) = &self.map
            && from < to
            && to <= map.len()
        {
            // SAFETY: the map is private and read-only: dropping its pages loses nothing,
            // and a read of them afterwards maps the file's bytes again.
            let _ =
                unsafe { map.unchecked_advise_range(UncheckedAdvice::DontNeed, from, to - from) };
        }
    }
}

/// Installs, once per process, a `SIGBUS` handler that reports an input file that shrank
/// while mapped and exits with status 1.
fn say_why_on_sigbus() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        // SAFETY: `on_sigbus` only calls the async-signal-safe `write` and `_exit`; the
        // sigaction struct is zeroed, then given a handler and an empty mask.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_sigbus as *const () as libc::sighandler_t;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(libc::SIGBUS, &action, std::ptr::null_mut());
        }
    });
}

extern "C" fn on_sigbus(_: libc::c_int) {
    const MESSAGE: &[u8] =
        b"weir: error: an input file shrank while it was being read (a read of its memory map faulted)\n";
    // SAFETY: async-signal-safe calls only; returning would fault again.
    unsafe {
        libc::write(2, MESSAGE.as_ptr().cast(), MESSAGE.len());
        libc::_exit(1);
    }
}

#[cfg(test)]
mod tests {
    use super::MappedFile;

    #[test]
    fn a_file_maps_to_its_bytes_and_a_changed_length_is_an_error() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("lines.jsonl");
        std::fs::write(&path, b"{\"a\":1}\n{\"a\":2}\n").expect("written");
        let mapped = MappedFile::open(&path, 16).expect("maps");
        assert_eq!(mapped.bytes(), b"{\"a\":1}\n{\"a\":2}\n");
        let error = MappedFile::open(&path, 20).err().expect("length checked");
        assert!(
            error.to_string().contains("changed while being read"),
            "{error}"
        );
        std::fs::write(&path, b"").expect("emptied");
        assert!(MappedFile::open(&path, 0).expect("maps").bytes().is_empty());
    }
}
