//! Where a job's output goes: the destinations given on the command line, and the target
//! that the workers of one process write their lines to.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};

use crate::kafka::KafkaUri;
use crate::sinks::exactly_once_file::absolute;
use crate::sinks::{ExactlyOnceDirectory, ExactlyOnceFile, KafkaLineWriter, PublishedKafka};
use crate::snapshot::{CommittingSink, SnapshotStore};

/// Where a job's output goes, as given on the command line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum OutputSpec {
    /// Standard output, flushed as results arrive.
    Stdout,
    /// A file; with several processes and no snapshots, process `I` writes `FILE.I`
    /// (`/dev/null` stays itself).
    File(PathBuf),
    /// A directory of JSON-lines segments (`cat DIR/*.jsonl` reads them in order). In a job
    /// that snapshots, each committed epoch's staged output becomes a segment by a hard link,
    /// so every output byte is written once; without snapshots, process `I` writes
    /// `DIR/run-pI.jsonl`.
    Directory(PathBuf),
    /// Nowhere (benchmarks).
    Discard,
    /// Every line to each of these destinations.
    Tee(Vec<OutputSpec>),
    /// Each line a record of a Kafka topic.
    Kafka(KafkaUri),
}

impl OutputSpec {
    /// The destination `--output TARGET` names: `-` is standard output, a path that ends in
    /// `/` or names an existing directory is a directory of segments, anything else a file.
    pub fn parse(target: &Path) -> anyhow::Result<OutputSpec> {
        let text = target.to_string_lossy();
        Ok(if KafkaUri::is_kafka(&text) {
            OutputSpec::Kafka(text.parse()?)
        } else if target == Path::new("-") {
            OutputSpec::Stdout
        } else if target.as_os_str().to_string_lossy().ends_with('/') || target.is_dir() {
            OutputSpec::Directory(target.to_path_buf())
        } else {
            OutputSpec::File(target.to_path_buf())
        })
    }

    /// The destination of several `--output` flags: none is standard output, several a tee.
    pub fn of_targets(targets: &[PathBuf]) -> anyhow::Result<OutputSpec> {
        Ok(match targets {
            [] => OutputSpec::Stdout,
            [one] => OutputSpec::parse(one)?,
            several => OutputSpec::Tee(
                several
                    .iter()
                    .map(|t| OutputSpec::parse(t))
                    .collect::<anyhow::Result<_>>()?,
            ),
        })
    }

    /// The destinations this stands for, a tee flattened.
    pub fn destinations(&self) -> Vec<&OutputSpec> {
        match self {
            OutputSpec::Tee(several) => several.iter().flat_map(|o| o.destinations()).collect(),
            one => vec![one],
        }
    }

    /// The file that process `process` of `processes` writes, if any.
    pub fn file_for(&self, process: usize, processes: usize) -> Option<PathBuf> {
        match self {
            // Every process may write the null device; `/dev/null.1` would be a new file.
            OutputSpec::File(path) if processes > 1 && path != Path::new("/dev/null") => {
                let mut name = path.as_os_str().to_owned();
                name.push(format!(".{process}"));
                Some(PathBuf::from(name))
            }
            OutputSpec::File(path) => Some(path.clone()),
            OutputSpec::Directory(dir) => Some(dir.join(format!("run-p{process}.jsonl"))),
            _ => None,
        }
    }

    /// Opens the target for process `process` of `processes`, creating or truncating files.
    pub fn open(&self, process: usize, processes: usize) -> anyhow::Result<OutputTarget> {
        Ok(OutputTarget::new(
            self.writer(process, processes)?,
            self.is_eager(),
        ))
    }

    fn is_eager(&self) -> bool {
        self.destinations().contains(&&OutputSpec::Stdout)
    }

    fn writer(&self, process: usize, processes: usize) -> anyhow::Result<Box<dyn Write + Send>> {
        match self {
            OutputSpec::Stdout => Ok(Box::new(io::stdout())),
            OutputSpec::Discard => Ok(Box::new(io::sink())),
            OutputSpec::Kafka(uri) => {
                crate::kafka::ensure_output_topic(uri)?;
                Ok(Box::new(KafkaLineWriter::new(uri)?))
            }
            OutputSpec::File(_) | OutputSpec::Directory(_) => {
                if let OutputSpec::Directory(dir) = self {
                    std::fs::create_dir_all(dir).with_context(|| {
                        format!("cannot create output directory {}", dir.display())
                    })?;
                }
                let path = self.file_for(process, processes).unwrap_or_default();
                Ok(Box::new(create(&path)?))
            }
            OutputSpec::Tee(several) => {
                let writers = several
                    .iter()
                    .map(|o| o.writer(process, processes))
                    .collect::<anyhow::Result<Vec<_>>>()?;
                Ok(Box::new(Tee(writers)))
            }
        }
    }

    /// The committing sinks that publish a snapshotting job's output to these destinations:
    /// each publishes the staged parts of `participant` in `store`, and a file keeps its log
    /// of what it published in `log_dir`. Standard output cannot take part: a terminal cannot
    /// take back lines printed after the snapshot a crashed job is restored from.
    pub fn committing_sinks(
        &self,
        store: &SnapshotStore,
        log_dir: &Path,
        participant: &str,
    ) -> anyhow::Result<Vec<Arc<dyn CommittingSink>>> {
        let mut sinks: Vec<Arc<dyn CommittingSink>> = Vec::new();
        let mut seen = Vec::new();
        for destination in self.destinations() {
            let sink: Arc<dyn CommittingSink> = match destination {
                OutputSpec::File(path) => {
                    let path = absolute(path)?;
                    Arc::new(ExactlyOnceFile::new(
                        store.clone(),
                        log_dir.to_path_buf(),
                        path,
                        participant,
                    ))
                }
                OutputSpec::Directory(dir) => Arc::new(ExactlyOnceDirectory::new(
                    store.clone(),
                    absolute(dir)?,
                    participant,
                )),
                OutputSpec::Kafka(uri) => {
                    crate::kafka::ensure_output_topic(uri)?;
                    Arc::new(PublishedKafka::new(
                        store.clone(),
                        log_dir,
                        uri.clone(),
                        participant,
                    ))
                }
                OutputSpec::Discard => continue,
                OutputSpec::Stdout => bail!(
                    "--snapshot-dir needs --output FILE or --output DIR/: output is published as snapshots commit, and standard output cannot take back what a crashed run printed"
                ),
                OutputSpec::Tee(_) => unreachable!("destinations are flattened"),
            };
            let place = sink.describe();
            if seen.contains(&place) {
                bail!("--output {place} is given twice");
            }
            seen.push(place);
            sinks.push(sink);
        }
        if sinks.is_empty() {
            bail!(
                "--snapshot-dir needs --output FILE or --output DIR/: output is published there as snapshots commit"
            );
        }
        Ok(sinks)
    }
}

/// Writes every byte to each of several writers.
struct Tee(Vec<Box<dyn Write + Send>>);

impl Write for Tee {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.write_all(bytes)?;
        Ok(bytes.len())
    }

    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.0.iter_mut().try_for_each(|w| w.write_all(bytes))
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.iter_mut().try_for_each(|w| w.flush())
    }
}

fn create(path: &Path) -> anyhow::Result<File> {
    File::create(path).with_context(|| format!("cannot create output file {}", path.display()))
}

/// Bytes the shared writer buffers. Sinks hand over batches at least this large
/// ([`JsonLineWriter`](crate::sinks::JsonLineWriter)), which skip the buffer.
pub(crate) const WRITE_BUFFER: usize = 1 << 16;

/// A shared, buffered destination for output lines. Cloning shares it.
#[derive(Clone)]
pub struct OutputTarget {
    writer: Arc<Mutex<BufWriter<Box<dyn Write + Send>>>>,
    /// Flush after every batch, so that a terminal shows results as they happen.
    eager: bool,
}

impl OutputTarget {
    /// Wraps a writer; `eager` flushes after every batch.
    pub fn new(writer: Box<dyn Write + Send>, eager: bool) -> Self {
        OutputTarget {
            writer: Arc::new(Mutex::new(BufWriter::with_capacity(WRITE_BUFFER, writer))),
            eager,
        }
    }

    /// Whether the target wants every batch as soon as it is complete.
    pub fn is_eager(&self) -> bool {
        self.eager
    }

    /// Appends a batch of complete lines.
    pub fn write_batch(&self, lines: &[u8]) -> io::Result<()> {
        let mut writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        writer.write_all(lines)?;
        if self.eager {
            writer.flush()?;
        }
        Ok(())
    }

    /// Writes out everything buffered.
    pub fn flush(&self) -> io::Result<()> {
        self.writer
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_process_writes_a_file_of_its_own_but_the_null_device_stays_itself() {
        let file = OutputSpec::parse(Path::new("out.jsonl")).expect("a file");
        assert_eq!(file.file_for(1, 2), Some(PathBuf::from("out.jsonl.1")));
        assert_eq!(file.file_for(0, 1), Some(PathBuf::from("out.jsonl")));
        let null = OutputSpec::parse(Path::new("/dev/null")).expect("a file");
        assert_eq!(null.file_for(1, 2), Some(PathBuf::from("/dev/null")));
    }
}
