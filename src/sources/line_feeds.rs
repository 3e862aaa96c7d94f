//! Where a worker's lines come from: its byte ranges of a file, every `W`-th line of a file
//! (for sources that number lines), or standard input on a helper thread.
//!
//! A file split by byte ranges is cut into chunks of [`CHUNK_BYTES`]; a line belongs to the
//! chunk its first byte is in, and chunk `c` to worker `c % W`, so W workers read the file
//! once between them (as Flink's splittable file source does) while every worker stays near
//! the same part of the file, and so near the same event times. Where a worker resumes is the
//! byte offset of its next line; whichever number of workers wrote the offsets, a line is
//! before them exactly when its offset is below that of the chunk's old owner.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, TryRecvError};

/// Bytes per chunk of a file split by byte ranges: large enough that seeking past other
/// workers' chunks costs nothing, small enough that workers stay within a few MiB of each
/// other in the file.
pub(crate) const CHUNK_BYTES: u64 = 1 << 20;

/// A line a worker should process.
pub(crate) struct Line<'a> {
    /// Its number from 0, where the feed counts lines (see [`LineFeed::line_number`]).
    pub(crate) number: Option<u64>,
    /// The byte offset of its start.
    pub(crate) offset: u64,
    /// Its contents without the line ending.
    pub(crate) text: &'a [u8],
}

/// The next line a worker should process.
pub(crate) enum Next<'a> {
    Line(Line<'a>),
    /// Nothing yet; the source will be activated when there is.
    Wait,
    /// The input is exhausted.
    End,
}

/// A worker's view of a line input.
pub(crate) trait LineFeed {
    fn next_line(&mut self) -> io::Result<Next<'_>>;
    /// The next line to read (its number, 0 where the feed does not count) and its offset.
    fn position(&self) -> (u64, u64);
    /// The number (from 0) of the line at `offset`, for error messages.
    fn line_number(&self, offset: u64) -> io::Result<u64>;
}

/// Reads the lines of a file that start in this worker's chunks.
pub(crate) struct ChunkFeed {
    reader: BufReader<File>,
    path: PathBuf,
    len: u64,
    /// The start of the next line to read, in one of this worker's chunks, or `len`.
    offset: u64,
    worker: u64,
    workers: u64,
    /// After a restore: where each worker of the snapshot (by index) was to read next.
    restored: Option<Vec<u64>>,
    buffer: Vec<u8>,
    /// Bytes of the read buffer handed out as the last line, consumed at the next read.
    pending: usize,
}

impl ChunkFeed {
    /// This worker's lines of `path`; after a restore, only those at or past the offsets
    /// `restored` (one per worker of the snapshot, by index).
    pub(crate) fn open(
        path: &Path,
        worker: u64,
        workers: u64,
        restored: Option<Vec<u64>>,
    ) -> io::Result<ChunkFeed> {
        let file = File::open(path)?;
        let len = file.metadata()?.len();
        let mut feed = ChunkFeed {
            reader: BufReader::with_capacity(1 << 18, file),
            path: path.to_path_buf(),
            len,
            offset: 0,
            worker,
            workers,
            restored: restored.filter(|offsets| !offsets.is_empty()),
            buffer: Vec::new(),
            pending: 0,
        };
        feed.go_to_own_line(0)?;
        Ok(feed)
    }

    /// Moves to the first line starting at or after `at` (itself a line start) that is in one
    /// of this worker's chunks and not before the restored offsets.
    fn go_to_own_line(&mut self, mut at: u64) -> io::Result<()> {
        while at < self.len {
            let chunk = at / CHUNK_BYTES;
            let own = chunk + (self.worker + self.workers - chunk % self.workers) % self.workers;
            if own != chunk {
                at = self.line_start_from(own * CHUNK_BYTES)?;
                continue;
            }
            if let Some(restored) = &self.restored {
                let before = restored[(chunk % restored.len() as u64) as usize];
                if before >= (chunk + 1) * CHUNK_BYTES {
                    at = self.line_start_from((chunk + 1) * CHUNK_BYTES)?;
                    continue;
                }
                at = at.max(before);
            }
            break;
        }
        self.offset = at.min(self.len);
        self.reader.seek(SeekFrom::Start(self.offset))?;
        Ok(())
    }

    /// The first line start at or after byte `from`.
    fn line_start_from(&mut self, from: u64) -> io::Result<u64> {
        if from == 0 || from >= self.len {
            return Ok(from.min(self.len));
        }
        self.reader.seek(SeekFrom::Start(from - 1))?;
        let skipped = self.reader.skip_until(b'\n')?;
        Ok(from - 1 + skipped as u64)
    }
}

impl LineFeed for ChunkFeed {
    fn next_line(&mut self) -> io::Result<Next<'_>> {
        self.reader.consume(std::mem::take(&mut self.pending));
        if self.offset >= self.len {
            return Ok(Next::End);
        }
        let start = self.offset;
        // Most lines lie whole in the read buffer: handed out from there, not copied, and
        // consumed at the next call. A line that straddles a refill, ends its chunk (the
        // next own line may need a seek) or ends the file without a newline is copied.
        if let Some(end) = memchr::memchr(b'\n', self.reader.fill_buf()?) {
            let next = start + end as u64 + 1;
            if next / CHUNK_BYTES == start / CHUNK_BYTES {
                self.offset = next;
                self.pending = end + 1;
                return Ok(Next::Line(Line {
                    number: None,
                    offset: start,
                    text: trim_line_ending(&self.reader.buffer()[..end + 1]),
                }));
            }
        }
        self.buffer.clear();
        let read = self.reader.read_until(b'\n', &mut self.buffer)? as u64;
        if read == 0 {
            self.offset = self.len;
            return Ok(Next::End);
        }
        let next = start + read;
        if next / CHUNK_BYTES == start / CHUNK_BYTES {
            self.offset = next;
        } else {
            self.go_to_own_line(next)?;
        }
        Ok(Next::Line(Line {
            number: None,
            offset: start,
            text: trim_line_ending(&self.buffer),
        }))
    }

    fn position(&self) -> (u64, u64) {
        (0, self.offset)
    }

    fn line_number(&self, offset: u64) -> io::Result<u64> {
        let mut reader = File::open(&self.path)?.take(offset);
        let mut buffer = vec![0; 1 << 16];
        let mut lines = 0;
        loop {
            let read = reader.read(&mut buffer)?;
            if read == 0 {
                return Ok(lines);
            }
            lines += memchr::memchr_iter(b'\n', &buffer[..read]).count() as u64;
        }
    }
}

/// Every worker reads the whole file and keeps lines `n` with `n % workers == worker`: for
/// sources whose records are numbered by line (text lines get their time from the number).
pub(crate) struct NumberedFeed {
    reader: BufReader<File>,
    line: u64,
    offset: u64,
    worker: u64,
    workers: u64,
    buffer: Vec<u8>,
}

impl NumberedFeed {
    /// Lines `n % workers == worker` of `path`, from line `line` at byte `offset`.
    pub(crate) fn open(
        path: &Path,
        worker: u64,
        workers: u64,
        (line, offset): (u64, u64),
    ) -> io::Result<NumberedFeed> {
        let mut reader = BufReader::with_capacity(1 << 16, File::open(path)?);
        reader.seek(SeekFrom::Start(offset))?;
        Ok(NumberedFeed {
            reader,
            line,
            offset,
            worker,
            workers,
            buffer: Vec::new(),
        })
    }
}

impl LineFeed for NumberedFeed {
    fn next_line(&mut self) -> io::Result<Next<'_>> {
        while self.line % self.workers != self.worker {
            let skipped = self.reader.skip_until(b'\n')?;
            if skipped == 0 {
                return Ok(Next::End);
            }
            self.line += 1;
            self.offset += skipped as u64;
        }
        self.buffer.clear();
        let read = self.reader.read_until(b'\n', &mut self.buffer)?;
        if read == 0 {
            return Ok(Next::End);
        }
        let (number, offset) = (self.line, self.offset);
        self.line += 1;
        self.offset += read as u64;
        Ok(Next::Line(Line {
            number: Some(number),
            offset,
            text: trim_line_ending(&self.buffer),
        }))
    }

    fn position(&self) -> (u64, u64) {
        (self.line, self.offset)
    }

    fn line_number(&self, _offset: u64) -> io::Result<u64> {
        Err(io::Error::other("numbered lines carry their number"))
    }
}

/// Lines from a reader thread, for worker 0.
pub(crate) struct ChannelFeed {
    lines: Receiver<io::Result<Vec<u8>>>,
    line: u64,
    current: Vec<u8>,
}

impl ChannelFeed {
    /// Standard input, read on a helper thread that wakes the source through `activator`.
    pub(crate) fn stdin(activator: timely::scheduling::SyncActivator) -> ChannelFeed {
        ChannelFeed {
            lines: read_stdin(activator),
            line: 0,
            current: Vec::new(),
        }
    }
}

impl LineFeed for ChannelFeed {
    fn next_line(&mut self) -> io::Result<Next<'_>> {
        match self.lines.try_recv() {
            Ok(Ok(line)) => {
                self.current = line;
                let number = self.line;
                self.line += 1;
                Ok(Next::Line(Line {
                    number: Some(number),
                    offset: 0,
                    text: trim_line_ending(&self.current),
                }))
            }
            Ok(Err(error)) => Err(error),
            Err(TryRecvError::Empty) => Ok(Next::Wait),
            Err(TryRecvError::Disconnected) => Ok(Next::End),
        }
    }

    fn position(&self) -> (u64, u64) {
        (self.line, 0)
    }

    fn line_number(&self, _offset: u64) -> io::Result<u64> {
        Err(io::Error::other("standard input lines carry their number"))
    }
}

/// For workers that own no lines of an input.
pub(crate) struct EmptyFeed;

impl LineFeed for EmptyFeed {
    fn next_line(&mut self) -> io::Result<Next<'_>> {
        Ok(Next::End)
    }

    fn position(&self) -> (u64, u64) {
        (0, 0)
    }

    fn line_number(&self, _offset: u64) -> io::Result<u64> {
        Ok(0)
    }
}

fn trim_line_ending(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Reads standard input on a helper thread, waking the source for every line.
fn read_stdin(activator: timely::scheduling::SyncActivator) -> Receiver<io::Result<Vec<u8>>> {
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        let stdin = io::stdin();
        let mut reader = stdin.lock();
        loop {
            let mut line = Vec::new();
            let result = match reader.read_until(b'\n', &mut line) {
                Ok(0) => break,
                Ok(_) => Ok(line),
                Err(error) => Err(error),
            };
            let failed = result.is_err();
            if sender.send(result).is_err() || activator.activate().is_err() || failed {
                break;
            }
        }
        // Dropping the sender ends the feed; wake the source to see it.
        drop(sender);
        let _ = activator.activate();
    });
    receiver
}

#[cfg(test)]
mod tests {
    use rand::{Rng, SeedableRng};

    use super::*;

    fn offsets_read(feed: &mut dyn LineFeed) -> Vec<(u64, Vec<u8>)> {
        let mut lines = Vec::new();
        while let Next::Line(line) = feed.next_line().expect("reads") {
            lines.push((line.offset, line.text.to_vec()));
        }
        lines
    }

    /// Lines of random lengths (some longer than a chunk, some empty, the last without a
    /// line ending or not), split over 1-4 workers, restored at random offsets onto another
    /// number of workers: every line is read by exactly one worker, and after a restore
    /// exactly the lines at or past the old owner's offset.
    #[test]
    fn byte_ranges_give_every_line_to_one_worker_and_resume_exactly() {
        let seed = crate::test_seed();
        let mut rng = rand::rngs::SmallRng::seed_from_u64(seed);
        let dir = tempfile::tempdir().expect("temp dir");
        for round in 0..6 {
            let mut text = Vec::new();
            let mut starts = Vec::new();
            let target = rng.gen_range(0..5 * CHUNK_BYTES);
            while (text.len() as u64) < target {
                starts.push(text.len() as u64);
                let len = match rng.gen_range(0..20) {
                    0 => rng.gen_range(CHUNK_BYTES / 2..2 * CHUNK_BYTES),
                    1 => 0,
                    _ => rng.gen_range(1..3000),
                };
                text.extend(std::iter::repeat_n(
                    b'a' + (starts.len() % 26) as u8,
                    len as usize,
                ));
                text.push(b'\n');
            }
            if rng.gen_bool(0.5) && text.pop().is_some() && text.last() == Some(&b'\n') {
                text.push(b'z');
            }
            let path = dir.path().join(format!("lines-{round}"));
            std::fs::write(&path, &text).expect("write");
            let lines: Vec<(u64, Vec<u8>)> = text
                .split(|&b| b == b'\n')
                .scan(0u64, |at, line| {
                    let start = *at;
                    *at += line.len() as u64 + 1;
                    Some((start, line.to_vec()))
                })
                .filter(|(start, _)| *start < text.len() as u64)
                .collect();
            let shape = format!("seed {seed} round {round}: {} bytes", text.len());

            let workers = rng.gen_range(1..=4u64);
            let mut all: Vec<(u64, Vec<u8>)> = Vec::new();
            for worker in 0..workers {
                let mut feed = ChunkFeed::open(&path, worker, workers, None).expect("opens");
                all.extend(offsets_read(&mut feed));
            }
            all.sort();
            assert_eq!(all, lines, "{shape}, {workers} workers");

            // Each old worker stopped at a random line of its own (or at the end).
            let mut restored = Vec::new();
            for worker in 0..workers {
                let own: Vec<u64> = lines
                    .iter()
                    .map(|(start, _)| *start)
                    .filter(|start| (start / CHUNK_BYTES) % workers == worker)
                    .collect();
                let stop = rng.gen_range(0..=own.len());
                restored.push(own.get(stop).copied().unwrap_or(text.len() as u64));
            }
            let expected: Vec<(u64, Vec<u8>)> = lines
                .iter()
                .filter(|(start, _)| *start >= restored[((start / CHUNK_BYTES) % workers) as usize])
                .cloned()
                .collect();
            let new_workers = rng.gen_range(1..=4u64);
            let mut resumed = Vec::new();
            for worker in 0..new_workers {
                let mut feed = ChunkFeed::open(&path, worker, new_workers, Some(restored.clone()))
                    .expect("opens");
                resumed.extend(offsets_read(&mut feed));
            }
            resumed.sort();
            assert_eq!(
                resumed, expected,
                "{shape}, {workers} workers restored onto {new_workers} at {restored:?}"
            );

            if let Some((offset, _)) = lines.get(lines.len() / 2) {
                let feed = ChunkFeed::open(&path, 0, 1, None).expect("opens");
                assert_eq!(
                    feed.line_number(*offset).expect("counts"),
                    (lines.len() / 2) as u64
                );
            }
        }
    }
}
