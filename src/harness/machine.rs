//! What a result file says about where and from what it was measured.

use serde::{Deserialize, Serialize};

/// The machine a run was measured on.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Machine {
    /// Host name.
    pub hostname: Option<String>,
    /// CPU model.
    pub cpu_model: Option<String>,
    /// Logical cores this process may use.
    pub cores: usize,
    /// Physical memory in bytes.
    pub memory_bytes: Option<u64>,
    /// Operating system and kernel release.
    pub os: String,
}

/// The weir that ran it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Build {
    /// weir's version.
    pub version: String,
    /// The git commit it was built from (`unknown` outside a git checkout).
    pub git_commit: String,
    /// Whether the checkout it runs in has uncommitted changes to tracked files, when it
    /// runs in the checkout it was built from.
    pub git_dirty: Option<bool>,
    /// Whether it is a release (optimized) build.
    pub release: bool,
}

impl Machine {
    /// This machine, as far as the platform tells.
    pub fn this() -> Self {
        let read = |path: &str| std::fs::read_to_string(path).ok();
        let cpu_model = read("/proc/cpuinfo").and_then(|info| {
            info.lines()
                .find(|line| line.starts_with("model name"))
                .and_then(|line| line.split_once(':'))
                .map(|(_, model)| model.trim().to_string())
        });
        let memory_bytes = read("/proc/meminfo").and_then(|info| {
            let line = info.lines().find(|line| line.starts_with("MemTotal:"))?;
            let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
            Some(kib * 1024)
        });
        let kernel = read("/proc/sys/kernel/osrelease").map(|r| r.trim().to_string());
        Machine {
            hostname: read("/proc/sys/kernel/hostname").map(|h| h.trim().to_string()),
            cpu_model,
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            memory_bytes,
            os: match kernel {
                Some(kernel) => format!("{} {kernel}", std::env::consts::OS),
                None => std::env::consts::OS.to_string(),
            },
        }
    }
}

impl Build {
    /// This build of weir.
    pub fn this() -> Self {
        let git_commit = env!("WEIR_GIT_COMMIT").to_string();
        Build {
            git_dirty: dirty_checkout(&git_commit),
            git_commit,
            version: env!("CARGO_PKG_VERSION").to_string(),
            release: !cfg!(debug_assertions),
        }
    }
}

/// Whether the current directory's git checkout, if it is at `commit`, has changes.
fn dirty_checkout(commit: &str) -> Option<bool> {
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .stderr(std::process::Stdio::null())
            .output()
            .ok()
            .filter(|out| out.status.success())
            .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_string())
    };
    if git(&["rev-parse", "HEAD"])? != commit {
        return None;
    }
    git(&["status", "--porcelain", "--untracked-files=no"]).map(|changes| !changes.is_empty())
}
