//! Line-oriented input shared by the text and JSON-lines sources: files are read by every
//! worker, each keeping the lines whose number is its own; standard input is read by worker 0
//! on a helper thread, so that a blocking read never stalls the dataflow.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Seek, SeekFrom};
use std::sync::mpsc::{self, Receiver, TryRecvError};

use anyhow::Context;
use serde::{Deserialize, Serialize};
use timely::dataflow::operators::generic::operator::source;
use timely::dataflow::{Scope, StreamVec};

use crate::control::{Counters, JobControl};
use crate::identity::LineInput;
use crate::snapshot::FutureReports;
use crate::sources::epochs::SourceEpochs;
use crate::sources::BATCH;
use crate::time::Time;

/// The next line a worker should process.
pub(crate) enum Next<'a> {
    /// Line number (from 0), byte offset of its start, and contents without the line ending.
    Line(u64, u64, &'a [u8]),
    /// Nothing yet; the source will be activated when there is.
    Wait,
    /// The input is exhausted.
    End,
}

/// A worker's view of a line input.
pub(crate) trait LineFeed {
    fn next_line(&mut self) -> io::Result<Next<'_>>;
    /// The next line to read and its byte offset.
    fn position(&self) -> (u64, u64);
    /// Continues from line `line`, which starts at byte `offset`.
    fn seek(&mut self, line: u64, offset: u64) -> io::Result<()>;
}

/// Every worker reads the whole file and keeps lines `n` with `n % workers == worker`.
/// Scanning past other workers' lines costs a memchr; parsing, the real work, is split.
struct FileFeed {
    reader: BufReader<File>,
    line: u64,
    offset: u64,
    worker: u64,
    workers: u64,
    buffer: Vec<u8>,
}

impl LineFeed for FileFeed {
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
        Ok(Next::Line(number, offset, trim_line_ending(&self.buffer)))
    }

    fn position(&self) -> (u64, u64) {
        (self.line, self.offset)
    }

    fn seek(&mut self, line: u64, offset: u64) -> io::Result<()> {
        self.reader.seek(SeekFrom::Start(offset))?;
        self.line = line;
        self.offset = offset;
        Ok(())
    }
}

/// Lines from a reader thread, for worker 0.
struct ChannelFeed {
    lines: Receiver<io::Result<Vec<u8>>>,
    line: u64,
    current: Vec<u8>,
}

impl LineFeed for ChannelFeed {
    fn next_line(&mut self) -> io::Result<Next<'_>> {
        match self.lines.try_recv() {
            Ok(Ok(line)) => {
                self.current = line;
                let number = self.line;
                self.line += 1;
                Ok(Next::Line(number, 0, trim_line_ending(&self.current)))
            }
            Ok(Err(error)) => Err(error),
            Err(TryRecvError::Empty) => Ok(Next::Wait),
            Err(TryRecvError::Disconnected) => Ok(Next::End),
        }
    }

    fn position(&self) -> (u64, u64) {
        (self.line, 0)
    }

    fn seek(&mut self, _line: u64, _offset: u64) -> io::Result<()> {
        Err(io::Error::other("standard input cannot be replayed"))
    }
}

/// For workers that own no lines of an input.
struct EmptyFeed;

impl LineFeed for EmptyFeed {
    fn next_line(&mut self) -> io::Result<Next<'_>> {
        Ok(Next::End)
    }

    fn position(&self) -> (u64, u64) {
        (0, 0)
    }

    fn seek(&mut self, _line: u64, _offset: u64) -> io::Result<()> {
        Ok(())
    }
}

fn trim_line_ending(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// How a line-oriented source turns lines into records.
pub(crate) struct LineSourceSpec {
    pub(crate) input: LineInput,
    pub(crate) control: JobControl,
    /// How far behind the newest time seen a record may be and still count.
    pub(crate) out_of_orderness: Time,
    /// Count and skip malformed lines instead of failing.
    pub(crate) skip_bad_input: bool,
}

/// A source of records parsed from lines. `parse(line_number, line)` gives the record and its
/// time, `Ok(None)` for a line that holds no record (a blank line), or an error for a
/// malformed one.
pub(crate) fn line_source<'scope, D, P>(
    scope: Scope<'scope, Time>,
    name: &str,
    spec: LineSourceSpec,
    mut parse: P,
) -> anyhow::Result<StreamVec<'scope, Time, D>>
where
    D: 'static,
    P: FnMut(u64, &[u8]) -> anyhow::Result<Option<(Time, D)>> + 'static,
{
    let worker = scope.index() as u64;
    let workers = scope.peers() as u64;
    let described = spec.input.describe();
    let file_feed = match &spec.input {
        LineInput::File(path) => {
            let file = File::open(path)
                .with_context(|| format!("cannot read input file {}", path.display()))?;
            Some(FileFeed {
                reader: BufReader::with_capacity(1 << 16, file),
                line: 0,
                offset: 0,
                worker,
                workers,
                buffer: Vec::new(),
            })
        }
        LineInput::Stdin => None,
    };
    let mut epochs = SourceEpochs::register(&scope, "input");
    let resume = match &epochs {
        Some(epochs) => resume_position(epochs, worker as usize, workers as usize)?,
        None => None,
    };
    let stream = source(scope, name, move |cap, info| {
        let mut feed: Box<dyn LineFeed> = match file_feed {
            Some(feed) => Box::new(feed),
            None if worker == 0 => {
                let activator = scope.worker().sync_activator_for(info.address.to_vec());
                Box::new(ChannelFeed {
                    lines: read_stdin(activator),
                    line: 0,
                    current: Vec::new(),
                })
            }
            None => Box::new(EmptyFeed),
        };
        let activator = scope.activator_for(info.address);
        let mut newest: Option<Time> = None;
        // Input before the restored epoch is in the restored state already.
        let mut skip_before: Time = 0;
        if let Some((epoch, position)) = resume {
            if let Err(error) = feed.seek(position.line, position.offset) {
                spec.control
                    .fail(anyhow::Error::new(error).context(format!("cannot resume {described}")));
            }
            newest = position.newest;
            skip_before = epoch;
        }
        let mut cap = Some(cap.delayed(&skip_before));
        // Where to resume at each coming epoch: the first line at or after it. Keyed by the
        // first epoch of a range that all resume at one line, with the range's last epoch.
        let mut starts: BTreeMap<Time, (Time, LinePosition)> = BTreeMap::new();
        let mut next_start = epochs.as_ref().map_or(Time::MAX, SourceEpochs::next);
        let mut buffer: Vec<D> = Vec::new();
        let mut buffer_time: Time = 0;
        move |output| {
            let Some(held) = cap.as_mut() else { return };
            if spec.control.should_stop() {
                if let Some(epochs) = epochs.as_mut() {
                    epochs.finish(true, FutureReports::default());
                }
                cap = None;
                return;
            }
            let counters = spec.control.counters();
            let (mut emitted, mut late, mut skipped) = (0u64, 0u64, 0u64);
            let mut finished = false;
            let mut aborted = false;
            let mut waiting = false;
            while emitted < BATCH {
                let (number, offset, line) = match feed.next_line() {
                    Ok(Next::Line(number, offset, line)) => (number, offset, line),
                    Ok(Next::Wait) => {
                        waiting = true;
                        break;
                    }
                    Ok(Next::End) => {
                        finished = true;
                        break;
                    }
                    Err(error) => {
                        spec.control.fail(
                            anyhow::Error::new(error).context(format!("cannot read {described}")),
                        );
                        (finished, aborted) = (true, true);
                        break;
                    }
                };
                let (time, record) = match parse(number, line) {
                    Ok(Some(parsed)) => parsed,
                    Ok(None) => continue,
                    Err(_) if spec.skip_bad_input => {
                        skipped += 1;
                        continue;
                    }
                    Err(error) => {
                        spec.control
                            .fail(error.context(format!("{described} line {}", number + 1)));
                        (finished, aborted) = (true, true);
                        break;
                    }
                };
                // Late: further behind the newest time seen than the bound allows. Judged per
                // record, so that lateness does not depend on where batches end; the held
                // capability never passes the watermark, so every other record can be sent.
                let watermark = newest.map_or(0, |n| n.saturating_sub(spec.out_of_orderness));
                if time < watermark {
                    late += 1;
                    continue;
                }
                if let Some(epochs) = epochs.as_ref().filter(|_| next_start <= time) {
                    let last = epochs.at_or_before(time).max(next_start);
                    let position = LinePosition {
                        line: number,
                        offset,
                        newest,
                    };
                    starts.insert(next_start, (last, position));
                    next_start = epochs.after(last);
                }
                newest = newest.max(Some(time));
                if time < skip_before {
                    continue;
                }
                if time != buffer_time && !buffer.is_empty() {
                    output
                        .session(&held.delayed(&buffer_time))
                        .give_container(&mut buffer);
                }
                buffer_time = time;
                buffer.push(record);
                emitted += 1;
            }
            if !buffer.is_empty() {
                output
                    .session(&held.delayed(&buffer_time))
                    .give_container(&mut buffer);
                buffer.clear();
            }
            Counters::add(&counters.records_in, emitted);
            Counters::add(&counters.late, late);
            Counters::add(&counters.skipped, skipped);
            if finished {
                if let Some(epochs) = epochs.as_mut() {
                    let (line, offset) = feed.position();
                    let end = LinePosition {
                        line,
                        offset,
                        newest,
                    };
                    let future = FutureReports {
                        known: starts
                            .iter()
                            .map(|(&first, &(last, position))| (first, last, position.to_inline()))
                            .collect(),
                        beyond: end.to_inline(),
                    };
                    epochs.finish(aborted, future);
                }
                cap = None;
                return;
            }
            if let Some(newest) = newest {
                let watermark = newest.saturating_sub(spec.out_of_orderness);
                if watermark > *held.time() {
                    held.downgrade(&watermark);
                }
            }
            if let Some(epochs) = epochs.as_mut() {
                epochs.passed(*held.time(), |epoch| {
                    while let Some(entry) = starts.first_entry() {
                        if entry.get().0 >= epoch {
                            break;
                        }
                        entry.remove();
                    }
                    match starts.range(..=epoch).next_back() {
                        Some((_, &(last, position))) => (last, position.to_inline()),
                        None => (epoch, None),
                    }
                });
            }
            if !waiting {
                activator.activate();
            }
        }
    });
    Ok(stream)
}

/// Where a worker resumes reading at an epoch: the first of its lines whose time is at or
/// after the epoch, and the newest time it had seen before that line (for lateness).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct LinePosition {
    line: u64,
    offset: u64,
    newest: Option<Time>,
}

impl LinePosition {
    fn to_inline(self) -> Option<String> {
        serde_json::to_string(&self).ok()
    }
}

/// Where this worker resumes in a restored job. With the same number of workers, each
/// resumes where it was; otherwise all start from the earliest position of any: every line
/// before it is before the epoch, and lines from it on are filtered by time.
fn resume_position(
    epochs: &SourceEpochs,
    worker: usize,
    workers: usize,
) -> anyhow::Result<Option<(Time, LinePosition)>> {
    let participant = epochs.participant();
    let (Some(epoch), Some(recorded)) = (epochs.restored_epoch(), participant.restore_inline())
    else {
        return Ok(None);
    };
    let mut positions = Vec::new();
    for (old_worker, inline) in recorded {
        let Some(inline) = inline else {
            anyhow::bail!(
                "the snapshot has no resume position for worker {old_worker} of the input"
            );
        };
        let position: LinePosition =
            serde_json::from_str(&inline).context("the snapshot's resume position is damaged")?;
        positions.push((old_worker, position));
    }
    if participant.restored_workers() == Some(workers)
        && let Some((_, position)) = positions.iter().find(|(w, _)| *w == worker)
    {
        return Ok(Some((epoch, *position)));
    }
    let earliest = positions.iter().map(|(_, p)| *p).min_by_key(|p| p.line);
    Ok(earliest.map(|mut position| {
        position.newest = positions.iter().map(|(_, p)| p.newest).min().flatten();
        (epoch, position)
    }))
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
