//! The destination that the workers of one process write their output lines to.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::Context;
use serde::{Deserialize, Serialize};

/// Where a job's output goes, as given on the command line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum OutputSpec {
    /// Standard output, flushed as results arrive.
    Stdout,
    /// A file; with several processes, process `I` writes `FILE.I`.
    File(PathBuf),
    /// Nowhere (benchmarks).
    Discard,
}

impl OutputSpec {
    /// The file that process `process` of `processes` writes, if any.
    pub fn file_for(&self, process: usize, processes: usize) -> Option<PathBuf> {
        match self {
            OutputSpec::File(path) if processes > 1 => {
                let mut name = path.as_os_str().to_owned();
                name.push(format!(".{process}"));
                Some(PathBuf::from(name))
            }
            OutputSpec::File(path) => Some(path.clone()),
            _ => None,
        }
    }

    /// Opens the target for process `process` of `processes`, creating or truncating files.
    pub fn open(&self, process: usize, processes: usize) -> anyhow::Result<OutputTarget> {
        match self {
            OutputSpec::Stdout => Ok(OutputTarget::new(Box::new(io::stdout()), true)),
            OutputSpec::Discard => Ok(OutputTarget::new(Box::new(io::sink()), false)),
            OutputSpec::File(_) => {
                let path = self.file_for(process, processes).unwrap_or_default();
                let file = create(&path)?;
                Ok(OutputTarget::new(Box::new(file), false))
            }
        }
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
