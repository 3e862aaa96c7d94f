//! `SideTable`: a bounded table that a stream is joined with by lookup (q13's side input),
//! read once per worker from a JSON-lines file or given as rows.
//!
//! The table is static input: every worker holds all of it, so a lookup needs no exchange and
//! no state to snapshot. A job that restores reads the file again; the file is part of the
//! job's identity, by path.

use std::hash::Hash;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

use crate::sources::json::{parse_json_line, MalformedJson};
use crate::state::StateMap;

/// Why a side table could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SideTableError {
    /// The file could not be opened or read.
    #[error("cannot read side input {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A line is not a row.
    #[error("side input {path} line {line}: {source}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// The line number, from 1.
        line: u64,
        /// What was wrong.
        source: MalformedJson,
    },
}

/// Rows by key; a key listed several times has several rows, in file order.
///
/// ```
/// use weir::sources::SideTable;
///
/// let table = SideTable::from_rows([(1, "one"), (2, "two"), (1, "uno")]);
/// assert_eq!(table.rows(&1), ["one", "uno"]);
/// assert!(table.rows(&3).is_empty());
/// ```
#[derive(Clone, Debug)]
pub struct SideTable<K, V> {
    rows: StateMap<K, Vec<V>>,
}

impl<K: Hash + Eq, V> SideTable<K, V> {
    /// A table of `rows`.
    pub fn from_rows(rows: impl IntoIterator<Item = (K, V)>) -> Self {
        let mut table = SideTable {
            rows: StateMap::default(),
        };
        for (key, value) in rows {
            table.rows.entry(key).or_default().push(value);
        }
        table
    }

    /// The table in the JSON-lines file `path`, each line a `R` made a row by `row`; blank
    /// lines are skipped, and a malformed line is an error naming it.
    pub fn read_json_lines<R: DeserializeOwned>(
        path: &Path,
        row: impl Fn(R) -> (K, V),
    ) -> Result<Self, SideTableError> {
        let read_error = |source| SideTableError::Read {
            path: path.to_path_buf(),
            source,
        };
        let file = std::fs::File::open(path).map_err(read_error)?;
        let mut rows = Vec::new();
        for (number, line) in BufReader::new(file).lines().enumerate() {
            let line = line.map_err(read_error)?;
            if line.trim().is_empty() {
                continue;
            }
            let record =
                parse_json_line(line.as_bytes()).map_err(|source| SideTableError::Malformed {
                    path: path.to_path_buf(),
                    line: number as u64 + 1,
                    source,
                })?;
            rows.push(row(record));
        }
        Ok(SideTable::from_rows(rows))
    }

    /// The rows of `key`, none if it has none.
    pub fn rows(&self, key: &K) -> &[V] {
        self.rows.get(key).map_or(&[], Vec::as_slice)
    }

    /// The number of rows.
    pub fn len(&self) -> usize {
        self.rows.values().map(Vec::len).sum()
    }

    /// Whether the table has no rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}
