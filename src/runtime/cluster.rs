//! Connecting the processes of a job over TCP.
//!
//! weir opens the sockets itself rather than through timely's `Config::Cluster`: it can then
//! give up after a deadline with an error that names the unreachable process, check that all
//! processes were started with the same shape, and keep timely's progress chatter off
//! standard output, where results go.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream, ToSocketAddrs};
use std::path::Path;
use std::thread::sleep;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

/// Says "weir" and the version of this handshake.
const MAGIC: [u8; 8] = *b"weir\0\0\0\x02";

/// The length of a hello.
const HELLO: usize = 48;

/// The shape of a multi-process job and this process's place in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterSpec {
    /// `host:port` of every process, in process order.
    pub hosts: Vec<String>,
    /// This process's index.
    pub process: usize,
    /// Worker threads per process (the same in every process).
    pub threads: usize,
    /// How long to keep trying to reach the other processes.
    pub connect_timeout: Duration,
}

/// What process 0 tells the others before they start: the snapshot epoch the job resumes
/// from, so that every process restores the same one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Announcement {
    /// The epoch restored, if any.
    pub restore: Option<u64>,
}

/// Processes and workers per process: the shape of a job.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Shape {
    /// Processes (`-n`).
    pub processes: usize,
    /// Worker threads per process (`-w`).
    pub workers: usize,
}

impl std::fmt::Display for Shape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}x{}", self.processes, self.workers)
    }
}

impl std::str::FromStr for Shape {
    type Err = String;

    /// `PxW`: `P` processes of `W` workers, e.g. `2x3`.
    fn from_str(text: &str) -> Result<Self, String> {
        let wrong = || format!("{text:?} is not a shape PxW (processes x workers), e.g. 2x3");
        let (processes, workers) = text.split_once(['x', 'X']).ok_or_else(wrong)?;
        let shape = Shape {
            processes: processes.trim().parse().map_err(|_| wrong())?,
            workers: workers.trim().parse().map_err(|_| wrong())?,
        };
        if shape.processes == 0 || shape.workers == 0 {
            return Err(format!(
                "{text:?}: a shape needs at least one process of one worker"
            ));
        }
        Ok(shape)
    }
}

/// `count` loopback addresses with ports free right now, for the processes of a local job.
/// (Another program may take a port before the job binds it; the job then fails to listen
/// and says so.)
pub fn free_loopback_hosts(count: usize) -> anyhow::Result<Vec<String>> {
    let listeners: Vec<TcpListener> = (0..count)
        .map(|_| TcpListener::bind("127.0.0.1:0"))
        .collect::<Result<_, _>>()
        .context("cannot find free loopback ports")?;
    listeners
        .iter()
        .map(|listener| Ok(format!("127.0.0.1:{}", listener.local_addr()?.port())))
        .collect()
}

/// Writes `hosts` as a host file at `path`.
pub fn write_hostfile(path: &Path, hosts: &[String]) -> anyhow::Result<()> {
    let text: String = hosts.iter().map(|host| format!("{host}\n")).collect();
    std::fs::write(path, text).with_context(|| format!("cannot write host file {}", path.display()))
}

/// Reads a host file: one `host:port` per line, blank lines and `#` comments ignored.
pub fn read_hostfile(path: &Path) -> anyhow::Result<Vec<String>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read host file {}", path.display()))?;
    let hosts: Vec<String> = text
        .lines()
        .map(|line| line.split('#').next().unwrap_or("").trim())
        .filter(|line| !line.is_empty())
        .map(str::to_string)
        .collect();
    for (index, host) in hosts.iter().enumerate() {
        if host.to_socket_addrs().is_err() {
            bail!(
                "host file {}: entry {} ({host:?}) is not a host:port address",
                path.display(),
                index + 1
            );
        }
    }
    Ok(hosts)
}

/// The per-process hello: magic, process count, this process, threads per process, and
/// (meaningful from process 0 only) whether and from which epoch the job restores.
fn hello(
    processes: usize,
    process: usize,
    threads: usize,
    announcement: Announcement,
) -> [u8; HELLO] {
    let mut bytes = [0u8; HELLO];
    bytes[..8].copy_from_slice(&MAGIC);
    bytes[8..16].copy_from_slice(&(processes as u64).to_be_bytes());
    bytes[16..24].copy_from_slice(&(process as u64).to_be_bytes());
    bytes[24..32].copy_from_slice(&(threads as u64).to_be_bytes());
    bytes[32..40].copy_from_slice(&u64::from(announcement.restore.is_some()).to_be_bytes());
    bytes[40..48].copy_from_slice(&announcement.restore.unwrap_or(0).to_be_bytes());
    bytes
}

fn word(bytes: &[u8; HELLO], range: std::ops::Range<usize>) -> u64 {
    let mut word = [0u8; 8];
    word.copy_from_slice(&bytes[range]);
    u64::from_be_bytes(word)
}

/// The announcement in a hello.
fn announcement_of(bytes: &[u8; HELLO]) -> Announcement {
    Announcement {
        restore: (word(bytes, 32..40) == 1).then(|| word(bytes, 40..48)),
    }
}

/// Checks a peer's hello against ours; returns the peer's process index.
fn check_hello(
    peer: &[u8; HELLO],
    processes: usize,
    threads: usize,
    from: &str,
) -> anyhow::Result<usize> {
    let field = |range: std::ops::Range<usize>| word(peer, range) as usize;
    if peer[..8] != MAGIC {
        bail!("{from} is not a weir process of this version");
    }
    let (their_processes, their_index, their_threads) =
        (field(8..16), field(16..24), field(24..32));
    if their_processes != processes || their_threads != threads {
        bail!(
            "{from} (process {their_index}) runs -n {their_processes} -w {their_threads}, \
             but this process runs -n {processes} -w {threads}: start every process with the same -n and -w"
        );
    }
    Ok(their_index)
}

/// Connects to every other process: accepts from higher-numbered processes, connects to
/// lower-numbered ones. Returns one stream per process, `None` at this process's own index,
/// and process 0's announcement (`announcement` itself on process 0).
pub fn connect(
    spec: &ClusterSpec,
    announcement: Announcement,
) -> anyhow::Result<(Vec<Option<TcpStream>>, Announcement)> {
    let processes = spec.hosts.len();
    let me = spec.process;
    if me >= processes {
        bail!("process index -p {me} is out of range for {processes} processes");
    }
    let deadline = Instant::now() + spec.connect_timeout;
    let mine = hello(processes, me, spec.threads, announcement);
    let mut announced = announcement;
    let mut sockets: Vec<Option<TcpStream>> = (0..processes).map(|_| None).collect();

    let listener = if me + 1 < processes {
        let address = &spec.hosts[me];
        let listener = TcpListener::bind(address)
            .with_context(|| format!("process {me} cannot listen on {address}"))?;
        listener.set_nonblocking(true)?;
        Some(listener)
    } else {
        None
    };

    for (peer, address) in spec.hosts.iter().enumerate().take(me) {
        let mut stream = loop {
            match TcpStream::connect(address) {
                Ok(stream) => break stream,
                Err(error) if Instant::now() >= deadline => {
                    return Err(error).with_context(|| {
                        format!(
                            "process {me} could not reach process {peer} at {address} within {:?}",
                            spec.connect_timeout
                        )
                    });
                }
                Err(_) => sleep(Duration::from_millis(20)),
            }
        };
        stream.set_nodelay(true)?;
        stream.write_all(&mine)?;
        let mut theirs = [0u8; HELLO];
        stream.set_read_timeout(Some(spec.connect_timeout))?;
        stream
            .read_exact(&mut theirs)
            .with_context(|| format!("process {peer} at {address} did not answer"))?;
        stream.set_read_timeout(None)?;
        let index = check_hello(&theirs, processes, spec.threads, address)?;
        if index != peer {
            bail!(
                "{address} answered as process {index}, but the host file lists it as process {peer}"
            );
        }
        if peer == 0 {
            announced = announcement_of(&theirs);
        }
        sockets[peer] = Some(stream);
    }

    if let Some(listener) = listener {
        let mut missing = processes - me - 1;
        while missing > 0 {
            match listener.accept() {
                Ok((mut stream, from)) => {
                    stream.set_nonblocking(false)?;
                    stream.set_nodelay(true)?;
                    stream.set_read_timeout(Some(spec.connect_timeout))?;
                    let mut theirs = [0u8; HELLO];
                    stream
                        .read_exact(&mut theirs)
                        .with_context(|| format!("a connection from {from} sent no greeting"))?;
                    stream.set_read_timeout(None)?;
                    // Answer before judging, so that a mismatched peer learns why too.
                    stream.write_all(&mine)?;
                    let index = check_hello(&theirs, processes, spec.threads, &from.to_string())?;
                    if index <= me || index >= processes || sockets[index].is_some() {
                        bail!(
                            "a connection from {from} claims to be process {index}, which is not expected here"
                        );
                    }
                    sockets[index] = Some(stream);
                    missing -= 1;
                }
                Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => {
                    if Instant::now() >= deadline {
                        let absent: Vec<String> = (me + 1..processes)
                            .filter(|&p| sockets[p].is_none())
                            .map(|p| p.to_string())
                            .collect();
                        bail!(
                            "process {me} heard nothing from process(es) {} within {:?}",
                            absent.join(", "),
                            spec.connect_timeout
                        );
                    }
                    sleep(Duration::from_millis(5));
                }
                Err(error) => return Err(error).context("accepting a connection"),
            }
        }
    }
    Ok((sockets, announced))
}
