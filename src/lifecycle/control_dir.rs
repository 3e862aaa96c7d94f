//! The control folder of a snapshot directory: requests to a running job and its answers.
//!
//! ```text
//! DIR/control/request-<id>.json   {"kind":"savepoint"} or {"kind":"stop"}: for the job
//! DIR/control/cluster-<id>.json   {"kind":"rescale","processes":2,"workers":3}: for `weir cluster`
//! DIR/control/answer-<id>.json    {"epoch":3000,"stopped":false}, or {"error":"..."}
//! DIR/control/draining            {"epoch":3000}: sources send nothing from 3000 on (a stop)
//! DIR/control/stopped             {"epoch":3000}: the job stopped after this savepoint
//! DIR/control/running             {"pid":..,"host":..}: process 0 of a job is running
//! DIR/control/supervisor          {"pid":..,"host":..}: `weir cluster` supervises the job
//! ```
//!
//! Every file is written whole (a temporary name, then a rename), so a reader never sees half
//! of one. A request is taken by deleting it; the asker waits for the answer with its id.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use serde::{Deserialize, Serialize};

use crate::time::Time;

/// The folder of a snapshot directory that holds requests and answers.
pub const CONTROL_FOLDER: &str = "control";

/// How often a waiting asker looks for its answer.
const POLL: Duration = Duration::from_millis(10);

/// What is asked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum RequestKind {
    /// Mark the next committed snapshot as a savepoint.
    Savepoint,
    /// Commit a savepoint, then stop without committing anything after it.
    Stop,
    /// (For `weir cluster`.) Stop with a savepoint and restart on this shape from it.
    Rescale {
        /// Processes of the new shape.
        processes: usize,
        /// Workers per process of the new shape.
        workers: usize,
    },
}

impl RequestKind {
    /// Whether the job itself answers this request (rather than its supervisor).
    pub fn is_for_the_job(&self) -> bool {
        matches!(self, RequestKind::Savepoint | RequestKind::Stop)
    }

    fn prefix(&self) -> &'static str {
        request_prefix(self.is_for_the_job())
    }
}

/// How the files of requests for the job (or for its supervisor) are named.
fn request_prefix(for_the_job: bool) -> &'static str {
    if for_the_job {
        "request-"
    } else {
        "cluster-"
    }
}

/// A request with the id its answer will carry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// Unique among the requests of this directory.
    pub id: String,
    /// What is asked.
    pub kind: RequestKind,
    /// Whether someone waits for the answer (a signal's request has nobody to answer).
    pub reply: bool,
}

/// A request file's contents.
#[derive(Serialize, Deserialize)]
struct RequestFile {
    #[serde(flatten)]
    kind: RequestKind,
    #[serde(default = "yes", skip_serializing_if = "Clone::clone")]
    reply: bool,
}

fn yes() -> bool {
    true
}

/// The answer to a request.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    /// The savepoint's epoch (for a rescale: the epoch the new shape resumed from).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epoch: Option<Time>,
    /// Whether the job stopped after it.
    #[serde(default)]
    pub stopped: bool,
    /// Why the request could not be met.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Who runs a job: written by its process 0 while it runs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Running {
    /// Its process id.
    pub pid: u32,
    /// The host it runs on.
    pub host: String,
}

impl Running {
    /// This process, on this host.
    pub fn this_process() -> Self {
        Running {
            pid: std::process::id(),
            host: host_name(),
        }
    }

    /// Whether the process still runs: known only on its own host (elsewhere assumed).
    pub fn is_alive(&self) -> bool {
        self.host != host_name() || Path::new(&format!("/proc/{}", self.pid)).exists()
    }
}

fn host_name() -> String {
    fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_string())
        .unwrap_or_default()
}

/// The control folder of one snapshot directory.
#[derive(Clone, Debug)]
pub struct ControlDirectory {
    dir: PathBuf,
}

impl ControlDirectory {
    /// The control folder of the snapshot directory `snapshot_dir`.
    pub fn of(snapshot_dir: &Path) -> Self {
        ControlDirectory {
            dir: snapshot_dir.join(CONTROL_FOLDER),
        }
    }

    /// The folder itself.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Writes `value` as the file `name`, whole.
    fn write<T: Serialize>(&self, name: &str, value: &T) -> anyhow::Result<()> {
        fs::create_dir_all(&self.dir)
            .with_context(|| format!("cannot create {}", self.dir.display()))?;
        let path = self.dir.join(name);
        // A name of its own: several processes (supervisors of one host file, a signal
        // and a commit) may write the same file at once, and the last rename wins whole.
        static WRITES: AtomicU64 = AtomicU64::new(0);
        let write = WRITES.fetch_add(1, Ordering::Relaxed);
        let temporary = self
            .dir
            .join(format!(".{name}.{}.{write}.tmp", std::process::id()));
        fs::write(&temporary, serde_json::to_vec(value)?)
            .with_context(|| format!("cannot write {}", temporary.display()))?;
        fs::rename(&temporary, &path)
            .with_context(|| format!("cannot write {}", path.display()))?;
        Ok(())
    }

    /// Reads the file `name`, if it is there.
    fn read<T: for<'de> Deserialize<'de>>(&self, name: &str) -> anyhow::Result<Option<T>> {
        let path = self.dir.join(name);
        match fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .with_context(|| format!("{} is not valid", path.display())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
        }
    }

    fn remove(&self, name: &str) -> anyhow::Result<()> {
        let path = self.dir.join(name);
        match fs::remove_file(&path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => {
                Err(e).with_context(|| format!("cannot remove {}", path.display()))
            }
            _ => Ok(()),
        }
    }

    /// Files a request whose answer the caller will wait for; returns it with its id.
    pub fn request(&self, kind: RequestKind) -> anyhow::Result<Request> {
        self.file_request(kind, true)
    }

    /// Files a request that nobody waits to have answered (a signal's).
    pub fn request_without_reply(&self, kind: RequestKind) -> anyhow::Result<Request> {
        self.file_request(kind, false)
    }

    fn file_request(&self, kind: RequestKind, reply: bool) -> anyhow::Result<Request> {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let id = format!("{nanos:024}-{}", std::process::id());
        let file = RequestFile {
            kind: kind.clone(),
            reply,
        };
        self.write(&format!("{}{id}.json", kind.prefix()), &file)?;
        Ok(Request { id, kind, reply })
    }

    /// Takes the pending requests for the job (`for_the_job`) or for its supervisor, oldest
    /// first. A request that cannot be read is answered with the reason and dropped.
    pub fn take_requests(&self, for_the_job: bool) -> anyhow::Result<Vec<Request>> {
        let prefix = request_prefix(for_the_job);
        let listing = match fs::read_dir(&self.dir) {
            Ok(listing) => listing,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", self.dir.display())),
        };
        let mut requests = Vec::new();
        for item in listing {
            let name = item?.file_name().to_string_lossy().to_string();
            let Some(id) = name
                .strip_prefix(prefix)
                .and_then(|rest| rest.strip_suffix(".json"))
            else {
                continue;
            };
            let id = id.to_string();
            let file = self.read::<RequestFile>(&name);
            self.remove(&name)?;
            match file {
                Ok(Some(RequestFile { kind, reply })) if kind.is_for_the_job() == for_the_job => {
                    requests.push(Request { id, kind, reply })
                }
                Ok(Some(RequestFile { kind, .. })) => self.answer(
                    &id,
                    &Answer {
                        error: Some(format!("{kind:?} is not a request of this kind of file")),
                        ..Answer::default()
                    },
                )?,
                Ok(None) => {}
                Err(error) => self.answer(
                    &id,
                    &Answer {
                        error: Some(format!("{error:#}")),
                        ..Answer::default()
                    },
                )?,
            }
        }
        requests.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(requests)
    }

    /// Answers the request `id`.
    pub fn answer(&self, id: &str, answer: &Answer) -> anyhow::Result<()> {
        self.write(&format!("answer-{id}.json"), answer)
    }

    /// Answers `request` if someone waits for the answer.
    pub fn reply(&self, request: &Request, answer: &Answer) -> anyhow::Result<()> {
        if request.reply {
            self.answer(&request.id, answer)?;
        }
        Ok(())
    }

    /// Waits up to `timeout` for the answer to `request`, taking it. On timeout the request
    /// is withdrawn (if nobody took it yet) and `None` returned.
    pub fn wait_answer(
        &self,
        request: &Request,
        timeout: Duration,
    ) -> anyhow::Result<Option<Answer>> {
        let name = format!("answer-{}.json", request.id);
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(answer) = self.read::<Answer>(&name)? {
                self.remove(&name)?;
                return Ok(Some(answer));
            }
            if Instant::now() >= deadline {
                self.remove(&format!("{}{}.json", request.kind.prefix(), request.id))?;
                return Ok(None);
            }
            std::thread::sleep(POLL);
        }
    }

    /// Records that the job stopped after the savepoint `epoch`.
    pub fn mark_stopped(&self, epoch: Time) -> anyhow::Result<()> {
        self.write("stopped", &serde_json::json!({ "epoch": epoch }))
    }

    /// The savepoint the job stopped after, if it did.
    pub fn stopped(&self) -> Option<Time> {
        let value = self.read::<serde_json::Value>("stopped").ok()??;
        value.get("epoch")?.as_u64()
    }

    /// Records that the job drains to `epoch` before it stops: every process's sources
    /// send nothing from `epoch` on.
    pub fn mark_draining(&self, epoch: Time) -> anyhow::Result<()> {
        self.write("draining", &serde_json::json!({ "epoch": epoch }))
    }

    /// The epoch the job drains to, if it is stopping.
    pub fn draining(&self) -> Option<Time> {
        let value = self.read::<serde_json::Value>("draining").ok()??;
        value.get("epoch")?.as_u64()
    }

    /// Records that process 0 of a job runs here, forgetting an earlier stop.
    pub fn mark_running(&self) -> anyhow::Result<()> {
        self.remove("stopped")?;
        self.remove("draining")?;
        self.write("running", &Running::this_process())
    }

    /// Who runs the job, if anyone said so (the process may have died since).
    pub fn running(&self) -> Option<Running> {
        self.read("running").ok().flatten()
    }

    /// Notes that the job no longer runs.
    pub fn clear_running(&self) {
        let _ = self.remove("running");
    }

    /// Records that `weir cluster` supervises the job of this directory.
    pub fn mark_supervisor(&self) -> anyhow::Result<()> {
        self.write("supervisor", &Running::this_process())
    }

    /// The supervisor of the job, if one said so (it may have died since).
    pub fn supervisor(&self) -> Option<Running> {
        self.read("supervisor").ok().flatten()
    }

    /// Notes that the supervisor has ended.
    pub fn clear_supervisor(&self) {
        let _ = self.remove("supervisor");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_taken_once_and_answered_by_id() {
        let dir = tempfile::tempdir().unwrap();
        let control = ControlDirectory::of(dir.path());
        let savepoint = control.request(RequestKind::Savepoint).unwrap();
        let rescale = control
            .request(RequestKind::Rescale {
                processes: 2,
                workers: 3,
            })
            .unwrap();
        let taken = control.take_requests(true).unwrap();
        assert_eq!(taken, vec![savepoint.clone()]);
        assert!(control.take_requests(true).unwrap().is_empty());
        assert_eq!(control.take_requests(false).unwrap(), vec![rescale]);
        let quiet = control.request_without_reply(RequestKind::Stop).unwrap();
        assert_eq!(control.take_requests(true).unwrap(), vec![quiet.clone()]);
        assert!(!quiet.reply);

        let answer = Answer {
            epoch: Some(3000),
            ..Answer::default()
        };
        control.answer(&savepoint.id, &answer).unwrap();
        let waited = control.wait_answer(&savepoint, Duration::ZERO).unwrap();
        assert_eq!(waited, Some(answer));
        // Taken: a second wait finds nothing.
        assert_eq!(
            control.wait_answer(&savepoint, Duration::ZERO).unwrap(),
            None
        );
    }

    #[test]
    fn an_unanswered_request_is_withdrawn_and_a_bad_one_answered_with_why() {
        let dir = tempfile::tempdir().unwrap();
        let control = ControlDirectory::of(dir.path());
        let stop = control.request(RequestKind::Stop).unwrap();
        assert_eq!(control.wait_answer(&stop, Duration::ZERO).unwrap(), None);
        assert!(control.take_requests(true).unwrap().is_empty(), "withdrawn");

        fs::write(control.path().join("request-7.json"), "{not json").unwrap();
        assert!(control.take_requests(true).unwrap().is_empty());
        let bad = Request {
            id: "7".into(),
            kind: RequestKind::Savepoint,
            reply: true,
        };
        let answer = control.wait_answer(&bad, Duration::ZERO).unwrap().unwrap();
        assert!(answer.error.unwrap().contains("request-7.json"));
    }

    #[test]
    fn writers_of_one_file_at_once_never_collide() {
        let dir = tempfile::tempdir().unwrap();
        let control = ControlDirectory::of(dir.path());
        std::thread::scope(|scope| {
            for _ in 0..4 {
                scope.spawn(|| {
                    for _ in 0..50 {
                        control.mark_supervisor().expect("every write lands whole");
                    }
                });
            }
        });
        assert!(control.supervisor().is_some());
    }

    #[test]
    fn a_stop_is_forgotten_when_a_job_starts_again() {
        let dir = tempfile::tempdir().unwrap();
        let control = ControlDirectory::of(dir.path());
        assert_eq!(control.stopped(), None);
        control.mark_draining(4000).unwrap();
        control.mark_stopped(4000).unwrap();
        assert_eq!(control.draining(), Some(4000));
        assert_eq!(control.stopped(), Some(4000));
        control.mark_running().unwrap();
        assert_eq!(control.stopped(), None);
        assert_eq!(control.draining(), None);
        let running = control.running().unwrap();
        assert!(running.is_alive());
        control.clear_running();
        assert_eq!(control.running(), None);
    }
}
