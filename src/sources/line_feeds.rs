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
use std::io::{self, BufRead, BufReader, Seek, SeekFrom};
use std::sync::mpsc::{self, Receiver, TryRecvError};

use crate::sources::input_files::{InputFiles, Located};
use crate::sources::mapped_file::MappedFile;

/// Bytes per chunk of a file split by byte ranges: large enough that seeking past other
/// workers' chunks costs nothing, small enough that workers stay within a few MiB of each
/// other in the file.
pub(crate) const CHUNK_BYTES: u64 = 1 << 20;

/// A line a worker should process.
pub(crate) struct Line<'a> {
    /// Its number from 0, where the feed counts lines.
    pub(crate) number: Option<u64>,
    /// The offset of its start in the input's byte space ([`InputFiles`]).
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
    /// The file and line number of the line at `offset`, for error messages; an error where
    /// the input is not files.
    fn locate(&self, offset: u64) -> io::Result<Located>;
}

/// The open file of a feed over [`InputFiles`].
struct OpenFile {
    index: usize,
    reader: BufReader<File>,
}

impl OpenFile {
    /// Opens file `index` of `files` at `offset` of the input's byte space (in that file),
    /// reusing `open` where it is that file already.
    fn seek(
        open: &mut Option<OpenFile>,
        files: &InputFiles,
        index: usize,
        offset: u64,
        capacity: usize,
    ) -> io::Result<()> {
        let file = &files.files()[index];
        if open.as_ref().is_none_or(|o| o.index != index) {
            let reader = BufReader::with_capacity(capacity, File::open(&file.path)?);
            *open = Some(OpenFile { index, reader });
        }
        if let Some(open) = open {
            open.reader.seek(SeekFrom::Start(offset - file.start))?;
        }
        Ok(())
    }
}

/// Reads the lines of a file that start in this worker's chunks, out of the file's memory
/// map ([`MappedFile`]): a line handed out is a slice of the page cache.
pub(crate) struct ChunkFeed {
    files: InputFiles,
    /// The mapped file the next line is in, by index.
    open: Option<(usize, MappedFile)>,
    /// The start of the next line to read, in one of this worker's chunks, or the end of the
    /// input; or, while `seek_pending`, the line after the last one read.
    offset: u64,
    /// The last line read ended its chunk or file: the next own line is yet to be found.
    /// Found at the next read, so that the line handed out stays in the file still mapped.
    seek_pending: bool,
    /// Up to where the open file's pages are released from the map: everything before the
    /// last line read, its own chunks and the pages of other workers' that the kernel
    /// mapped around them.
    released_to: u64,
    worker: u64,
    workers: u64,
    /// After a restore: where each worker of the snapshot (by index) was to read next.
    restored: Option<Vec<u64>>,
}

impl ChunkFeed {
    /// This worker's lines of `files`; after a restore, only those at or past the offsets
    /// `restored` (one per worker of the snapshot, by index).
    pub(crate) fn open(
        files: InputFiles,
        worker: u64,
        workers: u64,
        restored: Option<Vec<u64>>,
    ) -> io::Result<ChunkFeed> {
        let mut feed = ChunkFeed {
            files,
            open: None,
            offset: 0,
            seek_pending: false,
            released_to: 0,
            worker,
            workers,
            restored: restored.filter(|offsets| !offsets.is_empty()),
        };
        feed.go_to_own_line(0)?;
        Ok(feed)
    }

    /// The bytes of file `index`, mapped if it is not the one mapped already.
    fn map(&mut self, index: usize) -> io::Result<&[u8]> {
        if self.open.as_ref().is_none_or(|(open, _)| *open != index) {
            let file = &self.files.files()[index];
            self.open = Some((index, MappedFile::open(&file.path, file.len)?));
        }
        Ok(self.open.as_ref().map_or(&[][..], |(_, file)| file.bytes()))
    }

    /// Moves to the first line starting at or after `at` (itself a line start) that is in one
    /// of this worker's chunks and not before the restored offsets.
    fn go_to_own_line(&mut self, mut at: u64) -> io::Result<()> {
        while let Some(index) = self.files.file_from(at) {
            let file = &self.files.files()[index];
            at = at.max(file.start);
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
                if before > at {
                    // A line start of this chunk, or past the end of its file.
                    at = before;
                    continue;
                }
            }
            self.offset = at;
            self.map(index)?;
            return Ok(());
        }
        self.offset = self.files.end();
        Ok(())
    }

    /// The first line start at or after byte `from`: a file's first byte, or the byte after
    /// a line end.
    fn line_start_from(&mut self, from: u64) -> io::Result<u64> {
        let Some(index) = self.files.file_from(from) else {
            return Ok(self.files.end());
        };
        let (start, end) = {
            let file = &self.files.files()[index];
            (file.start, file.end())
        };
        if from <= start {
            return Ok(start);
        }
        let bytes = self.map(index)?;
        let after = bytes.get((from - 1 - start) as usize..).unwrap_or_default();
        Ok(match memchr::memchr(b'\n', after) {
            Some(newline) => from + newline as u64,
            None => end,
        })
    }
}

impl LineFeed for ChunkFeed {
    fn next_line(&mut self) -> io::Result<Next<'_>> {
        if std::mem::take(&mut self.seek_pending) {
            if let Some((index, mapped)) = &self.open {
                let start = self.files.files()[*index].start;
                let from = self.released_to.max(start);
                let to = self.offset.min(self.files.files()[*index].end());
                mapped.release((from - start) as usize, to.saturating_sub(start) as usize);
                self.released_to = to;
            }
            self.go_to_own_line(self.offset)?;
        }
        let start = self.offset;
        let Some((index, mapped)) = self.open.as_ref().filter(|_| start < self.files.end()) else {
            return Ok(Next::End);
        };
        let file = &self.files.files()[*index];
        let Some(rest) = mapped.bytes().get((start - file.start) as usize..) else {
            return Err(io::Error::other(format!(
                "{} ended before byte {} of {}: it changed while being read",
                file.path.display(),
                start - file.start,
                file.len,
            )));
        };
        let line = match memchr::memchr(b'\n', rest) {
            Some(newline) => &rest[..=newline],
            None => rest,
        };
        let next = start + line.len() as u64;
        self.offset = next;
        // The next line starts another chunk or file: find the next own line at the next
        // read (this line's bytes stay mapped until then).
        self.seek_pending = next / CHUNK_BYTES != start / CHUNK_BYTES || next >= file.end();
        Ok(Next::Line(Line {
            number: None,
            offset: start,
            text: trim_line_ending(line),
        }))
    }

    fn position(&self) -> (u64, u64) {
        (0, self.offset)
    }

    fn locate(&self, offset: u64) -> io::Result<Located> {
        self.files.locate(offset)
    }
}

/// Every worker reads all the files and keeps lines `n` with `n % workers == worker`: for
/// sources whose records are numbered by line (text lines get their time from the number).
/// Lines are numbered on through the files in order.
pub(crate) struct NumberedFeed {
    files: InputFiles,
    open: Option<OpenFile>,
    line: u64,
    offset: u64,
    worker: u64,
    workers: u64,
    buffer: Vec<u8>,
}

impl NumberedFeed {
    /// Lines `n % workers == worker` of `files`, from line `line` at `offset` of their byte
    /// space.
    pub(crate) fn open(
        files: InputFiles,
        worker: u64,
        workers: u64,
        (line, offset): (u64, u64),
    ) -> io::Result<NumberedFeed> {
        let mut feed = NumberedFeed {
            files,
            open: None,
            line,
            offset,
            worker,
            workers,
            buffer: Vec::new(),
        };
        feed.open_from(offset)?;
        Ok(feed)
    }

    /// Opens the file holding `offset` or the first after it (then `offset` is its start);
    /// false past the last file.
    fn open_from(&mut self, offset: u64) -> io::Result<bool> {
        let Some(index) = self.files.file_from(offset) else {
            self.open = None;
            self.offset = self.files.end();
            return Ok(false);
        };
        self.offset = offset.max(self.files.files()[index].start);
        OpenFile::seek(&mut self.open, &self.files, index, self.offset, 1 << 16)?;
        Ok(true)
    }

    /// The reader of the file holding the next line, moving on past ended files; `None` at
    /// the end of the input.
    fn reader<'a>(
        open: &'a mut Option<OpenFile>,
        files: &InputFiles,
        offset: &mut u64,
    ) -> io::Result<Option<&'a mut BufReader<File>>> {
        loop {
            let Some(current) = open.as_mut() else {
                return Ok(None);
            };
            if !current.reader.fill_buf()?.is_empty() {
                break;
            }
            let Some(index) = files.file_from(files.files()[current.index].end()) else {
                *open = None;
                *offset = files.end();
                return Ok(None);
            };
            *offset = files.files()[index].start;
            OpenFile::seek(open, files, index, *offset, 1 << 16)?;
        }
        Ok(open.as_mut().map(|open| &mut open.reader))
    }
}

impl LineFeed for NumberedFeed {
    fn next_line(&mut self) -> io::Result<Next<'_>> {
        while self.line % self.workers != self.worker {
            let Some(reader) = Self::reader(&mut self.open, &self.files, &mut self.offset)? else {
                return Ok(Next::End);
            };
            let skipped = reader.skip_until(b'\n')?;
            self.line += 1;
            self.offset += skipped as u64;
        }
        let Some(reader) = Self::reader(&mut self.open, &self.files, &mut self.offset)? else {
            return Ok(Next::End);
        };
        self.buffer.clear();
        let read = reader.read_until(b'\n', &mut self.buffer)?;
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

    fn locate(&self, offset: u64) -> io::Result<Located> {
        self.files.locate(offset)
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

    fn locate(&self, _offset: u64) -> io::Result<Located> {
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

    fn locate(&self, _offset: u64) -> io::Result<Located> {
        Err(io::Error::other("no lines"))
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
    use rand::rngs::SmallRng;
    use rand::{Rng, SeedableRng};

    use super::*;

    fn offsets_read(feed: &mut dyn LineFeed) -> Vec<(u64, Vec<u8>)> {
        let mut lines = Vec::new();
        while let Next::Line(line) = feed.next_line().expect("reads") {
            lines.push((line.offset, line.text.to_vec()));
        }
        lines
    }

    /// Random lines (some longer than a chunk, some empty, the last without a line ending
    /// or not), `max_bytes` at most.
    fn random_text(rng: &mut SmallRng, max_bytes: u64) -> Vec<u8> {
        let mut text = Vec::new();
        let target = rng.gen_range(0..max_bytes);
        let mut count = 0u8;
        while (text.len() as u64) < target {
            let len = match rng.gen_range(0..20) {
                0 => rng.gen_range(CHUNK_BYTES / 2..2 * CHUNK_BYTES),
                1 => 0,
                _ => rng.gen_range(1..3000),
            };
            count = count.wrapping_add(1);
            text.extend(std::iter::repeat_n(b'a' + count % 26, len as usize));
            text.push(b'\n');
        }
        if rng.gen_bool(0.5) && text.pop().is_some() && text.last() == Some(&b'\n') {
            text.push(b'z');
        }
        text
    }

    /// The lines of `files`, by their offsets in the files' byte space.
    fn lines_of(files: &InputFiles) -> Vec<(u64, Vec<u8>)> {
        let mut lines = Vec::new();
        for file in files.files() {
            let text = std::fs::read(&file.path).expect("read");
            let mut at = 0;
            for line in text.split(|&b| b == b'\n') {
                if at < text.len() {
                    lines.push((file.start + at as u64, line.to_vec()));
                }
                at += line.len() + 1;
            }
        }
        lines
    }

    /// 1-3 files (one may be empty) of random lines in a directory of their own.
    fn random_files(rng: &mut SmallRng, dir: &std::path::Path) -> InputFiles {
        std::fs::create_dir(dir).expect("mkdir");
        for file in 0..rng.gen_range(1..=3) {
            let text = random_text(rng, 4 * CHUNK_BYTES);
            std::fs::write(dir.join(format!("part-{file}")), text).expect("write");
        }
        InputFiles::resolve(dir).expect("resolves")
    }

    /// Random files split over 1-4 workers by byte ranges, restored at random offsets onto
    /// another number of workers: every line is read by exactly one worker, and after a
    /// restore exactly the lines at or past the old owner's offset.
    #[test]
    fn byte_ranges_give_every_line_to_one_worker_and_resume_exactly() {
        let seed = crate::test_seed();
        let mut rng = SmallRng::seed_from_u64(seed);
        let dir = tempfile::tempdir().expect("temp dir");
        for round in 0..6 {
            let files = random_files(&mut rng, &dir.path().join(format!("round-{round}")));
            let lines = lines_of(&files);
            let end = files.end();
            let shape = format!("seed {seed} round {round}: {files:?}");

            let workers = rng.gen_range(1..=4u64);
            let mut all: Vec<(u64, Vec<u8>)> = Vec::new();
            for worker in 0..workers {
                let mut feed =
                    ChunkFeed::open(files.clone(), worker, workers, None).expect("opens");
                all.extend(offsets_read(&mut feed));
                assert_eq!(feed.position().1, end, "{shape}: ends at the end");
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
                restored.push(own.get(stop).copied().unwrap_or(end));
            }
            let expected: Vec<(u64, Vec<u8>)> = lines
                .iter()
                .filter(|(start, _)| *start >= restored[((start / CHUNK_BYTES) % workers) as usize])
                .cloned()
                .collect();
            let new_workers = rng.gen_range(1..=4u64);
            let mut resumed = Vec::new();
            for worker in 0..new_workers {
                let mut feed =
                    ChunkFeed::open(files.clone(), worker, new_workers, Some(restored.clone()))
                        .expect("opens");
                resumed.extend(offsets_read(&mut feed));
            }
            resumed.sort();
            assert_eq!(
                resumed, expected,
                "{shape}, {workers} workers restored onto {new_workers} at {restored:?}"
            );

            if let Some((offset, _)) = lines.get(lines.len() / 2) {
                let feed = ChunkFeed::open(files.clone(), 0, 1, None).expect("opens");
                let located = feed.locate(*offset).expect("counts");
                let file = &files.files()[files.file_from(*offset).expect("in a file")];
                let before = lines
                    .iter()
                    .filter(|(start, _)| (file.start..*offset).contains(start))
                    .count();
                assert_eq!(
                    (located.path, located.line),
                    (file.path.clone(), before as u64)
                );
            }
        }
    }

    /// Numbered lines run on through the files in order: each of 1-3 workers keeps every
    /// `W`-th, and one resumed at a line's number and offset reads on from exactly there.
    #[test]
    fn numbered_lines_run_on_through_the_files() {
        let seed = crate::test_seed();
        let mut rng = SmallRng::seed_from_u64(seed);
        let dir = tempfile::tempdir().expect("temp dir");
        for round in 0..4 {
            let files = random_files(&mut rng, &dir.path().join(format!("round-{round}")));
            let lines = lines_of(&files);
            let shape = format!("seed {seed} round {round}: {files:?}");
            let workers = rng.gen_range(1..=3u64);
            for worker in 0..workers {
                let mut feed =
                    NumberedFeed::open(files.clone(), worker, workers, (0, 0)).expect("opens");
                let mut read = Vec::new();
                while let Next::Line(line) = feed.next_line().expect("reads") {
                    read.push((line.number, line.offset, line.text.to_vec()));
                }
                let expected: Vec<_> = (lines.iter().enumerate())
                    .filter(|(n, _)| *n as u64 % workers == worker)
                    .map(|(n, (offset, text))| (Some(n as u64), *offset, text.clone()))
                    .collect();
                assert_eq!(read, expected, "{shape}, worker {worker} of {workers}");
            }
            let from = rng.gen_range(0..=lines.len());
            let at = lines.get(from).map_or(files.end(), |(offset, _)| *offset);
            let mut feed =
                NumberedFeed::open(files.clone(), 0, 1, (from as u64, at)).expect("opens");
            assert_eq!(
                offsets_read(&mut feed),
                lines[from..],
                "{shape}, from line {from}"
            );
        }
    }
}
