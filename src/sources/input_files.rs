//! The files of a line input: one file, every file of a directory, or every file a glob
//! pattern matches, read in name order as one stream.
//!
//! The files are laid out in one byte space in which each starts at a chunk boundary
//! ([`CHUNK_BYTES`]): a chunk then lies in one file, so the byte-range split of
//! `sources::line_feeds` gives chunks of every file to workers in turn exactly as it does
//! for one file, and a resume position is one offset in that space whatever file it falls in.
//! A snapshot records a fingerprint of the layout (names and sizes), so that a restore onto
//! other files is refused instead of resuming at offsets that mean something else.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::identity::LineInput;
use crate::sources::line_feeds::CHUNK_BYTES;

/// One file of an input, where it starts in the input's byte space.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct InputFile {
    pub(crate) path: PathBuf,
    /// Its first byte in the input's byte space: a multiple of [`CHUNK_BYTES`].
    pub(crate) start: u64,
    pub(crate) len: u64,
}

impl InputFile {
    /// One past its last byte in the input's byte space.
    pub(crate) fn end(&self) -> u64 {
        self.start + self.len
    }
}

/// The files of a line input in name order, each starting at a chunk boundary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct InputFiles {
    files: Vec<InputFile>,
}

/// A line of an input, named for an error message.
pub(crate) struct Located {
    pub(crate) path: PathBuf,
    /// Its number from 0 within its file.
    pub(crate) line: u64,
}

impl InputFiles {
    /// The files `path` names: the file itself, the files of a directory (not those whose
    /// names start with `.`, not subdirectories), or, where no such path exists and it holds
    /// `*`, `?` or `[`, the files the glob pattern matches.
    pub(crate) fn resolve(path: &Path) -> anyhow::Result<InputFiles> {
        let named = path.display();
        let paths = if path.is_dir() {
            let mut paths = Vec::new();
            let entries = std::fs::read_dir(path)
                .with_context(|| format!("cannot list input directory {named}"))?;
            for entry in entries {
                let entry =
                    entry.with_context(|| format!("cannot list input directory {named}"))?;
                let hidden = entry.file_name().to_string_lossy().starts_with('.');
                if !hidden && entry.path().is_file() {
                    paths.push(entry.path());
                }
            }
            anyhow::ensure!(!paths.is_empty(), "input directory {named} holds no files");
            paths
        } else if !path.exists() && is_pattern(path) {
            let pattern = path.to_str().context("a glob pattern must be UTF-8")?;
            let matches =
                glob::glob(pattern).with_context(|| format!("bad input pattern {pattern:?}"))?;
            let mut paths = Vec::new();
            for matched in matches {
                let matched =
                    matched.with_context(|| format!("cannot read {pattern:?}'s matches"))?;
                if matched.is_file() {
                    paths.push(matched);
                }
            }
            anyhow::ensure!(!paths.is_empty(), "no input file matches {pattern:?}");
            paths
        } else {
            vec![path.to_path_buf()]
        };
        Self::lay_out(paths)
    }

    /// `paths` in name order, each opened to learn its size.
    fn lay_out(mut paths: Vec<PathBuf>) -> anyhow::Result<InputFiles> {
        paths.sort();
        let mut files = Vec::with_capacity(paths.len());
        let mut start = 0;
        for path in paths {
            let len = File::open(&path)
                .and_then(|file| file.metadata())
                .with_context(|| format!("cannot read input file {}", path.display()))?
                .len();
            files.push(InputFile { path, start, len });
            start += len.div_ceil(CHUNK_BYTES) * CHUNK_BYTES;
        }
        Ok(InputFiles { files })
    }

    pub(crate) fn files(&self) -> &[InputFile] {
        &self.files
    }

    /// One past the last byte of the last file.
    pub(crate) fn end(&self) -> u64 {
        self.files.last().map_or(0, InputFile::end)
    }

    /// The first file holding a byte at or after `offset`, by index.
    pub(crate) fn file_from(&self, offset: u64) -> Option<usize> {
        let first = self.files.partition_point(|file| file.end() <= offset);
        (first..self.files.len()).find(|&index| self.files[index].len > 0)
    }

    /// A digest of the files' names (not their directories) and sizes, recorded with resume
    /// positions: a restore onto other files sees a different one.
    pub(crate) fn fingerprint(&self) -> u32 {
        let mut hasher = crc32fast::Hasher::new();
        for file in &self.files {
            let name = file.path.file_name().unwrap_or(file.path.as_os_str());
            hasher.update(name.as_encoded_bytes());
            hasher.update(&[0]);
            hasher.update(&file.len.to_le_bytes());
        }
        hasher.finalize()
    }

    /// The file and line number of the line starting at `offset`, counting line ends.
    pub(crate) fn locate(&self, offset: u64) -> io::Result<Located> {
        let index = self
            .file_from(offset)
            .ok_or_else(|| io::Error::other("offset past the end of the input"))?;
        let file = &self.files[index];
        let mut reader = File::open(&file.path)?.take(offset.saturating_sub(file.start));
        let mut buffer = vec![0; 1 << 16];
        let mut line = 0;
        loop {
            let read = reader.read(&mut buffer)?;
            if read == 0 {
                break;
            }
            line += memchr::memchr_iter(b'\n', &buffer[..read]).count() as u64;
        }
        Ok(Located {
            path: file.path.clone(),
            line,
        })
    }
}

impl LineInput {
    /// Checks that the input can be read, before any worker starts: every file a directory or
    /// pattern names, and at least one (resolving opens each file for its size); a Kafka
    /// topic's brokers answer, within its timeout, and it exists.
    pub fn check(&self) -> anyhow::Result<()> {
        match self {
            LineInput::File(path) => {
                InputFiles::resolve(path)?;
            }
            LineInput::Kafka(uri) => {
                crate::kafka::partitions_of_topic(uri)?;
            }
            LineInput::Stdin => {}
        }
        Ok(())
    }
}

fn is_pattern(path: &Path) -> bool {
    path.to_string_lossy().contains(['*', '?', '['])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_directory_and_a_pattern_name_their_files_in_order_each_at_a_chunk() {
        let dir = tempfile::tempdir().expect("temp dir");
        let write = |name: &str, len: usize| {
            std::fs::write(dir.path().join(name), vec![b'\n'; len]).expect("write");
        };
        write("b.jsonl", CHUNK_BYTES as usize + 1);
        write("a.jsonl", 10);
        write("c.txt", 0);
        write(".hidden", 5);
        std::fs::create_dir(dir.path().join("sub")).expect("mkdir");

        let all = InputFiles::resolve(dir.path()).expect("resolves");
        let names: Vec<_> = all
            .files()
            .iter()
            .map(|f| f.path.file_name().unwrap())
            .collect();
        assert_eq!(names, ["a.jsonl", "b.jsonl", "c.txt"]);
        let starts: Vec<u64> = all.files().iter().map(|f| f.start).collect();
        assert_eq!(starts, [0, CHUNK_BYTES, 3 * CHUNK_BYTES]);
        assert_eq!(all.end(), 3 * CHUNK_BYTES);
        assert_eq!(all.file_from(0), Some(0));
        assert_eq!(
            all.file_from(10),
            Some(1),
            "the gap after a file leads to the next"
        );
        assert_eq!(all.file_from(2 * CHUNK_BYTES), Some(1));
        assert_eq!(
            all.file_from(2 * CHUNK_BYTES + 1),
            None,
            "an empty file holds nothing"
        );

        let pattern = dir.path().join("*.jsonl");
        let matched = InputFiles::resolve(&pattern).expect("resolves");
        assert_eq!(matched.files(), &all.files()[..2]);
        assert_ne!(matched.fingerprint(), all.fingerprint());

        let none = InputFiles::resolve(&dir.path().join("*.csv")).unwrap_err();
        assert!(
            format!("{none:#}").contains("no input file matches"),
            "{none:#}"
        );
        let empty = tempfile::tempdir().expect("temp dir");
        let error = InputFiles::resolve(empty.path()).unwrap_err();
        assert!(format!("{error:#}").contains("holds no files"), "{error:#}");
        let missing = InputFiles::resolve(&dir.path().join("missing.jsonl")).unwrap_err();
        assert!(
            format!("{missing:#}").contains("cannot read input file"),
            "{missing:#}"
        );
    }
}
