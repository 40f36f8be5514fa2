//! External extractors (`pdftotext`, `pdftoppm`, `tesseract`) as bounded,
//! isolated child processes: one helper for all of them.
//!
//! Each child runs in its own process group with an empty environment (but
//! `PATH`, `LC_ALL=C` and what the caller adds), no stdin unless given, under
//! resource limits set before `exec` (address space, CPU seconds, size of a file
//! it writes), and is killed with its whole group when the wall-clock limit
//! passes. Its standard output is read up to a byte limit (more is an error,
//! never a silent cut), its standard error up to 4 KB for the reason.

use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The bounds of one child process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    /// Wall-clock limit; the process group is killed after it.
    pub timeout: Duration,
    /// Most bytes read from standard output.
    pub max_output: u64,
    /// `RLIMIT_AS`: the child's address space, bytes (None: unlimited).
    pub memory: Option<u64>,
    /// `RLIMIT_FSIZE`: the largest file the child may write, bytes (None: unlimited).
    pub max_file: Option<u64>,
}

impl Bounds {
    /// `timeout` and `max_output` only.
    pub fn new(timeout: Duration, max_output: u64) -> Bounds {
        Bounds {
            timeout,
            max_output,
            memory: None,
            max_file: None,
        }
    }
}

/// Standard error kept for the reason of a failure.
const MAX_STDERR: u64 = 4096;

/// Runs `program args` bounded by `bounds` in `dir` (None: the current
/// directory), `stdin` piped in when given, and returns its standard output;
/// Err with the reason (in English, for the file's note) when it cannot start,
/// fails, is killed or writes too much.
pub fn run(
    program: &str,
    args: &[&str],
    stdin: Option<&[u8]>,
    dir: Option<&Path>,
    env: &[(&str, &str)],
    bounds: Bounds,
) -> Result<Vec<u8>, String> {
    let mut cmd = Command::new(program);
    cmd.args(args)
        .env_clear()
        .env(
            "PATH",
            std::env::var_os("PATH").unwrap_or_else(|| "/usr/bin:/bin".into()),
        )
        .env("LC_ALL", "C")
        .envs(env.iter().copied())
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    if let Some(d) = dir {
        cmd.current_dir(d);
    }
    let (memory, max_file) = (bounds.memory, bounds.max_file);
    let cpu = bounds.timeout.as_secs().saturating_add(1);
    // SAFETY: the closure runs in the child between fork and exec and calls
    // only setrlimit, which is async-signal-safe; it allocates nothing.
    unsafe {
        cmd.pre_exec(move || {
            let set = |res, v: u64| {
                let lim = libc::rlimit {
                    rlim_cur: v as libc::rlim_t,
                    rlim_max: v as libc::rlim_t,
                };
                if libc::setrlimit(res, &lim) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            };
            set(libc::RLIMIT_CPU, cpu)?;
            set(libc::RLIMIT_CORE, 0)?;
            if let Some(m) = memory {
                set(libc::RLIMIT_AS, m)?;
            }
            if let Some(f) = max_file {
                set(libc::RLIMIT_FSIZE, f)?;
            }
            Ok(())
        });
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("{program} is not available ({e})"))?;
    let pid = child.id() as libc::pid_t;
    let writer = match (stdin, child.stdin.take()) {
        (Some(bytes), Some(mut pipe)) => {
            let data = bytes.to_vec();
            Some(std::thread::spawn(move || {
                let _ = pipe.write_all(&data);
            }))
        }
        _ => None,
    };
    let stdout = child.stdout.take().expect("piped stdout");
    let max_output = bounds.max_output;
    let reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        let _ = stdout
            .take(max_output.saturating_add(1))
            .read_to_end(&mut out);
        out
    });
    let stderr = child.stderr.take().expect("piped stderr");
    let err_reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        let mut s = stderr;
        let _ = (&mut s).take(MAX_STDERR).read_to_end(&mut out);
        // Drain the rest so the child never blocks on a full pipe.
        let _ = std::io::copy(&mut s, &mut std::io::sink());
        out
    });
    let kill_group = || {
        // SAFETY: kill(2) with a negative pid signals the child's own process
        // group (made by process_group(0)); it has no memory effects here.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
    };
    let start = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break s,
            Ok(None) if start.elapsed() > bounds.timeout => {
                kill_group();
                let _ = child.kill();
                let _ = child.wait();
                if let Some(w) = writer {
                    let _ = w.join();
                }
                let _ = reader.join();
                let _ = err_reader.join();
                return Err(format!(
                    "{program} took longer than {} s and was stopped",
                    bounds.timeout.as_secs()
                ));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => {
                kill_group();
                return Err(format!("{program} failed: {e}"));
            }
        }
    };
    // Anything the child left running in its group goes with it.
    kill_group();
    if let Some(w) = writer {
        let _ = w.join();
    }
    let out = reader.join().unwrap_or_default();
    let err = err_reader.join().unwrap_or_default();
    // First: a child stopped by SIGPIPE after the limit was reached wrote too much.
    if out.len() as u64 > max_output {
        return Err(format!(
            "{program} wrote more than {max_output} bytes of output"
        ));
    }
    if !status.success() {
        let err = String::from_utf8_lossy(&err);
        let err = err.trim();
        return Err(if err.is_empty() {
            format!("{program} failed ({status})")
        } else {
            format!("{program} failed ({status}): {}", last_line(err))
        });
    }
    Ok(out)
}

fn last_line(s: &str) -> &str {
    s.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(secs: u64, out: u64) -> Bounds {
        Bounds::new(Duration::from_secs(secs), out)
    }

    #[test]
    fn output_and_stdin_pass_through() {
        let out = run("cat", &[], Some(b"tere"), None, &[], b(5, 100)).unwrap();
        assert_eq!(out, b"tere");
    }

    #[test]
    fn a_hanging_child_is_killed_after_its_time_limit() {
        let t0 = Instant::now();
        let e = run(
            "sh",
            &["-c", "sleep 30"],
            None,
            None,
            &[],
            Bounds::new(Duration::from_millis(300), 100),
        )
        .unwrap_err();
        assert!(e.contains("took longer"), "{e}");
        assert!(t0.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn too_much_output_is_an_error_not_a_cut() {
        let e = run(
            "head",
            &["-c", "5000", "/dev/zero"],
            None,
            None,
            &[],
            b(5, 1000),
        )
        .unwrap_err();
        assert!(e.contains("more than 1000 bytes"), "{e}");
    }

    #[test]
    fn the_memory_limit_applies_to_the_child() {
        // 64 MB of address space is too little to allocate 512 MB.
        let bounds = Bounds {
            memory: Some(64 * 1024 * 1024),
            ..b(10, 100)
        };
        let r = run(
            "python3",
            &["-c", "x = bytearray(512 * 1024 * 1024)"],
            None,
            None,
            &[],
            bounds,
        );
        match r {
            Err(e) if e.contains("not available") => {
                crate::testing::missing_service("python3", &e);
            }
            Err(e) => assert!(e.contains("failed"), "{e}"),
            Ok(_) => panic!("the child allocated past its memory limit"),
        }
    }

    #[test]
    fn a_failing_child_gives_its_reason() {
        let e = run(
            "sh",
            &["-c", "echo bad input >&2; exit 3"],
            None,
            None,
            &[],
            b(5, 100),
        )
        .unwrap_err();
        assert!(e.contains("bad input"), "{e}");
    }

    #[test]
    fn the_environment_is_cleared() {
        std::env::set_var("DOCGATE_SECRET_FOR_TEST", "x");
        let out = run("env", &[], None, None, &[("A", "1")], b(5, 10_000)).unwrap();
        let s = String::from_utf8(out).unwrap();
        assert!(!s.contains("DOCGATE_SECRET_FOR_TEST"), "{s}");
        assert!(s.contains("A=1"), "{s}");
    }
}
