//! Line-oriented input shared by the text and JSON-lines sources: a file is split between
//! workers by byte ranges, or by line number for sources that number their lines
//! (`sources::line_feeds`); standard input is read by worker 0 on a helper thread, so that a
//! blocking read never stalls the dataflow.

use std::collections::BTreeMap;

use anyhow::Context;
use serde::{Deserialize, Serialize};
use timely::dataflow::operators::generic::operator::source;
use timely::dataflow::{Scope, StreamVec};

use crate::control::{Counters, JobControl};
use crate::identity::LineInput;
use crate::snapshot::FutureReports;
use crate::sources::chain::{Chain, ChainInput};
use crate::sources::epochs::SourceEpochs;
use crate::sources::generator::Deliver;
use crate::sources::input_files::InputFiles;
use crate::sources::line_feeds::{
    ChannelFeed, ChunkFeed, EmptyFeed, Line, LineFeed, Next, NumberedFeed,
};
use crate::sources::prepared::PreparedInput;
use crate::sources::BATCH;
use crate::time::Time;

/// What a line source makes of one line: a record and its time, nothing (a blank line), or
/// an error (a malformed line).
pub(crate) type ParsedLine<T> = anyhow::Result<Option<(Time, T)>>;

/// How a line-oriented source turns lines into records.
pub(crate) struct LineSourceSpec {
    pub(crate) input: LineInput,
    pub(crate) control: JobControl,
    /// How far behind the newest time seen a record may be and still count.
    pub(crate) out_of_orderness: Time,
    /// Count and skip malformed lines instead of failing.
    pub(crate) skip_bad_input: bool,
    /// Whether `parse` needs each line's number: then every worker reads the whole file and
    /// keeps every `W`-th line; otherwise workers split the file by byte ranges and a line's
    /// number is counted only to name it in an error.
    pub(crate) numbered: bool,
    /// An unbounded input ends after this many records in all (`u64::MAX`: never).
    pub(crate) limit: u64,
}

/// A line input opened for this worker, resumed where a restored snapshot says, not yet
/// built into a source: [`Chain`](crate::sources::Chain) builds it with the steps that follow.
pub(crate) struct PreparedLines {
    spec: LineSourceSpec,
    worker: u64,
    epochs: Option<SourceEpochs>,
    resume: Option<Resume>,
    file_feed: Option<Box<dyn LineFeed>>,
    /// The fingerprint of the input files, recorded with every resume position.
    layout: Option<u32>,
}

impl PreparedLines {
    /// Registers the source for snapshots and opens this worker's share of the input.
    pub(crate) fn open(scope: Scope<'_, Time>, spec: LineSourceSpec) -> anyhow::Result<Self> {
        let worker = scope.index() as u64;
        let workers = scope.peers() as u64;
        let epochs = SourceEpochs::register(&scope, "input");
        let resume = match &epochs {
            Some(epochs) => resume_position(epochs, worker as usize, workers as usize)?,
            None => None,
        };
        let mut layout = None;
        let file_feed: Option<Box<dyn LineFeed>> = match &spec.input {
            LineInput::File(path) => {
                let files = InputFiles::resolve(path)?;
                let fingerprint = files.fingerprint();
                if let Some(recorded) = resume.as_ref().and_then(|r| r.files) {
                    anyhow::ensure!(
                        recorded == fingerprint,
                        "the input files of {} are not those of the snapshot (their names \
                         or sizes changed): resuming would read other lines",
                        path.display()
                    );
                }
                layout = Some(fingerprint);
                let feed: std::io::Result<Box<dyn LineFeed>> = if spec.numbered {
                    let from = resume
                        .as_ref()
                        .map_or((0, 0), |r| (r.own.line, r.own.offset));
                    NumberedFeed::open(files, worker, workers, from).map(|f| Box::new(f) as _)
                } else {
                    let restored = resume.as_ref().map(|r| r.offsets.clone());
                    ChunkFeed::open(files, worker, workers, restored).map(|f| Box::new(f) as _)
                };
                Some(feed.with_context(|| format!("cannot read input {}", path.display()))?)
            }
            LineInput::Stdin => None,
            LineInput::Kafka(_) => anyhow::bail!("a Kafka topic is not read as lines"),
        };
        Ok(PreparedLines {
            spec,
            worker,
            epochs,
            resume,
            file_feed,
            layout,
        })
    }

    /// Builds the source. For each line, `parse(line_number, line)` gives the time of its
    /// record and leaves the record where `take` finds it, `Ok(None)` for a line that holds no
    /// record (a blank line), or an error for a malformed one; the line number is given where
    /// the spec's `numbered` asks for it. `take` gives the record as the steps after the
    /// source make it (none when they drop it), for a record in time: lateness and the
    /// restored epoch are judged on every record first, whatever the steps do with it.
    pub(crate) fn build<'scope, D, P, T, E>(
        self,
        scope: Scope<'scope, Time>,
        name: &str,
        mut parse: P,
        mut take: T,
        mut deliver: E,
    ) -> StreamVec<'scope, Time, E::Output>
    where
        D: 'static,
        P: FnMut(Option<u64>, &[u8]) -> anyhow::Result<Option<Time>> + 'static,
        T: FnMut() -> Option<D> + 'static,
        E: Deliver<D>,
    {
        let PreparedLines {
            spec,
            worker,
            mut epochs,
            resume,
            file_feed,
            layout,
        } = self;
        let described = spec.input.describe();
        source(scope, name, move |cap, info| {
            let mut feed: Box<dyn LineFeed> = match file_feed {
                Some(feed) => feed,
                None if worker == 0 => {
                    let activator = scope.worker().sync_activator_for(info.address.to_vec());
                    Box::new(ChannelFeed::stdin(activator))
                }
                None => Box::new(EmptyFeed),
            };
            let activator = scope.activator_for(info.address);
            let mut newest: Option<Time> = None;
            // Input before the restored epoch is in the restored state already.
            let mut skip_before: Time = 0;
            if let Some(resume) = &resume {
                newest = resume.own.newest;
                skip_before = resume.epoch;
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
                    deliver.end_batch(output, None);
                    cap = None;
                    return;
                }
                let counters = spec.control.counters();
                let (mut emitted, mut late, mut skipped) = (0u64, 0u64, 0u64);
                let mut finished = false;
                let mut aborted = false;
                let mut waiting = false;
                while emitted < BATCH {
                    let Line {
                        number,
                        offset,
                        text: line,
                    } = match feed.next_line() {
                        Ok(Next::Line(line)) => line,
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
                                anyhow::Error::new(error)
                                    .context(format!("cannot read {described}")),
                            );
                            (finished, aborted) = (true, true);
                            break;
                        }
                    };
                    let time = match parse(number, line) {
                        Ok(Some(time)) => time,
                        Ok(None) => continue,
                        Err(_) if spec.skip_bad_input => {
                            skipped += 1;
                            continue;
                        }
                        Err(error) => {
                            let at = match (feed.locate(offset), number) {
                                (Ok(found), _) => {
                                    format!("{} line {}", found.path.display(), found.line + 1)
                                }
                                (Err(_), Some(number)) => {
                                    format!("{described} line {}", number + 1)
                                }
                                (Err(_), None) => format!("{described} at byte {offset}"),
                            };
                            spec.control.fail(error.context(at));
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
                            line: number.unwrap_or(0),
                            offset,
                            newest,
                            files: layout,
                        };
                        starts.insert(next_start, (last, position));
                        next_start = epochs.after(last);
                    }
                    newest = newest.max(Some(time));
                    if time < skip_before {
                        continue;
                    }
                    emitted += 1;
                    let Some(record) = take() else { continue };
                    if time != buffer_time && !buffer.is_empty() {
                        deliver.deliver(output, &held.delayed(&buffer_time), buffer.drain(..));
                    }
                    buffer_time = time;
                    buffer.push(record);
                }
                if !buffer.is_empty() {
                    deliver.deliver(output, &held.delayed(&buffer_time), buffer.drain(..));
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
                            files: layout,
                        };
                        let future = FutureReports {
                            known: starts
                                .iter()
                                .map(|(&first, &(last, position))| {
                                    (first, last, position.to_inline())
                                })
                                .collect(),
                            beyond: end.to_inline(),
                        };
                        epochs.finish(aborted, future);
                    }
                    deliver.end_batch(output, None);
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
                deliver.end_batch(output, Some(*held.time()));
                if !waiting {
                    activator.activate();
                }
            }
        })
    }
}

/// A source of records parsed from lines, as [`PreparedLines::build`] describes, with no
/// steps after it: a [`Chain`] over the lines, ended at once.
pub(crate) fn line_source<'scope, D, P>(
    scope: Scope<'scope, Time>,
    name: &'static str,
    spec: LineSourceSpec,
    parse: P,
) -> anyhow::Result<StreamVec<'scope, Time, D>>
where
    D: 'static,
    P: FnMut(Option<u64>, &[u8]) -> ParsedLine<D> + 'static,
{
    let lines = PreparedInput::open(scope, spec)?;
    let input = ChainInput::<fn(u64) -> D, P>::Lines(Box::new(lines), parse);
    Ok(Chain::from_input(scope, name, input).stream())
}

/// Where a worker resumes reading at an epoch: the first of its lines whose time is at or
/// after the epoch, and the newest time it had seen before that line (for lateness).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct LinePosition {
    line: u64,
    /// In the input's byte space (`sources::input_files`).
    offset: u64,
    newest: Option<Time>,
    /// The fingerprint of the input files it is a position in (absent for standard input
    /// and in snapshots of versions before it was recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    files: Option<u32>,
}

impl LinePosition {
    fn to_inline(self) -> Option<String> {
        serde_json::to_string(&self).ok()
    }
}

/// What a restored job's source resumes from.
struct Resume {
    /// The epoch restored: records before it are in the restored state.
    epoch: Time,
    /// Where this worker resumes a file read by line number, and the newest time it had
    /// seen: with the same number of workers, where it was; otherwise the earliest position
    /// of any (every line before it is before the epoch; lines from it on are filtered by
    /// time) and the least newest time.
    own: LinePosition,
    /// Where each worker of the snapshot (by index) was to read next, for a file split by
    /// byte ranges ([`ChunkFeed`]), which works out from them which lines are still to read.
    offsets: Vec<u64>,
    /// The fingerprint of the input files the positions are in, where recorded.
    files: Option<u32>,
}

fn resume_position(
    epochs: &SourceEpochs,
    worker: usize,
    workers: usize,
) -> anyhow::Result<Option<Resume>> {
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
    positions.sort_by_key(|(old_worker, _)| *old_worker);
    let complete = positions
        .iter()
        .enumerate()
        .all(|(index, (old, _))| index == *old);
    if !complete || participant.restored_workers() != Some(positions.len()) {
        anyhow::bail!("the snapshot's resume positions are not one per worker of the input");
    }
    let offsets = positions.iter().map(|(_, p)| p.offset).collect();
    let own = match positions.iter().find(|(w, _)| *w == worker) {
        Some((_, position)) if positions.len() == workers => *position,
        _ => {
            let mut earliest = positions
                .iter()
                .map(|(_, p)| *p)
                .min_by_key(|p| p.line)
                .unwrap_or(LinePosition {
                    line: 0,
                    offset: 0,
                    newest: None,
                    files: None,
                });
            earliest.newest = positions.iter().map(|(_, p)| p.newest).min().flatten();
            earliest
        }
    };
    let files = positions.iter().find_map(|(_, p)| p.files);
    Ok(Some(Resume {
        epoch,
        own,
        offsets,
        files,
    }))
}
