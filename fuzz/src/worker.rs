//! Running inputs in a worker process: a panic is caught there (and reported as `Panic`), an
//! abort, fault or allocation failure kills only the worker (`Crash`), a hang is cut off by a
//! time limit (`Timeout`); the campaign starts a new worker and goes on.
//!
//! Protocol (binary, over the worker's stdin and stdout): a job is `oracle u8, mode u8,
//! seed u64, len u32, bytes`; the answer `class u8, len u32, detail`.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::{guarded, run_job, Class, Job, Oracle, Outcome};

/// Stack of the thread that runs inputs (wasmtime runs guest code on it).
const STACK: usize = 64 << 20;

/// Where inputs run.
pub enum Executor {
    /// In this process, in a thread with a large stack; a panic is caught, nothing else is.
    InProcess,
    Worker(Worker),
}

impl Executor {
    pub fn run(&mut self, job: &Job) -> Outcome {
        match self {
            Executor::InProcess => run_in_thread(job.clone()),
            Executor::Worker(w) => w.run(job),
        }
    }
}

fn run_in_thread(job: Job) -> Outcome {
    std::thread::Builder::new()
        .stack_size(STACK)
        .spawn(move || guarded(|| run_job(&job)))
        .expect("spawn a thread")
        .join()
        .unwrap_or_else(|_| Outcome::new(Class::Panic, "the runner thread panicked"))
}

/// The body of `chiwawa-fuzz worker`: answers jobs from stdin until it closes.
pub fn worker_main() {
    crate::install_panic_hook();
    let handle = std::thread::Builder::new()
        .stack_size(STACK)
        .spawn(|| {
            let mut stdin = std::io::stdin().lock();
            let mut stdout = std::io::stdout().lock();
            while let Some(job) = read_job(&mut stdin) {
                let outcome = guarded(|| run_job(&job));
                let detail = outcome.detail.as_bytes();
                let mut frame = vec![outcome.class.to_byte()];
                frame.extend_from_slice(&(detail.len() as u32).to_le_bytes());
                frame.extend_from_slice(detail);
                if stdout
                    .write_all(&frame)
                    .and_then(|_| stdout.flush())
                    .is_err()
                {
                    break;
                }
            }
        })
        .expect("spawn the worker thread");
    let _ = handle.join();
}

fn read_job(r: &mut impl Read) -> Option<Job> {
    let mut head = [0u8; 14];
    r.read_exact(&mut head).ok()?;
    let oracle = match head[0] {
        0 => Oracle::Images,
        1 => Oracle::Diff,
        3 => Oracle::Components,
        _ => Oracle::Translate,
    };
    let seed = u64::from_le_bytes(head[2..10].try_into().ok()?);
    let len = u32::from_le_bytes(head[10..14].try_into().ok()?) as usize;
    let mut bytes = vec![0; len];
    r.read_exact(&mut bytes).ok()?;
    Some(Job {
        oracle,
        mode: head[1],
        seed,
        bytes,
    })
}

fn job_frame(job: &Job) -> Vec<u8> {
    let mut frame = vec![
        match job.oracle {
            Oracle::Images => 0,
            Oracle::Diff => 1,
            Oracle::Translate => 2,
            Oracle::Components => 3,
        },
        job.mode,
    ];
    frame.extend_from_slice(&job.seed.to_le_bytes());
    frame.extend_from_slice(&(job.bytes.len() as u32).to_le_bytes());
    frame.extend_from_slice(&job.bytes);
    frame
}

/// A worker process, started on first use and again after it died or was stopped.
pub struct Worker {
    exe: PathBuf,
    /// Address-space limit of the worker in KiB (`ulimit -v`): a crafted image may ask for
    /// tables or memories of many GiB, which must become a clean error, not the machine's OOM.
    limit_kib: Option<u64>,
    timeout: Duration,
    proc: Option<Proc>,
    /// Workers started so far.
    pub starts: u64,
}

struct Proc {
    child: Child,
    stdin: ChildStdin,
    answers: Receiver<Option<(u8, String)>>,
    stderr: Arc<Mutex<Vec<u8>>>,
}

impl Worker {
    /// A worker running `exe worker`, each job limited to `timeout`.
    pub fn new(exe: PathBuf, timeout: Duration, limit_kib: Option<u64>) -> Worker {
        Worker {
            exe,
            limit_kib,
            timeout,
            proc: None,
            starts: 0,
        }
    }

    fn start(&mut self) -> std::io::Result<Proc> {
        let mut cmd = match self.limit_kib {
            Some(kib) if cfg!(unix) => {
                let mut c = Command::new("sh");
                c.arg("-c")
                    .arg("ulimit -v \"$1\" && exec \"$0\" worker")
                    .arg(&self.exe)
                    .arg(kib.to_string());
                c
            }
            _ => {
                let mut c = Command::new(&self.exe);
                c.arg("worker");
                c
            }
        };
        let mut child = cmd
            .env("RUST_BACKTRACE", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        self.starts += 1;
        let stdin = child.stdin.take().expect("piped");
        let mut stdout = child.stdout.take().expect("piped");
        let mut err = child.stderr.take().expect("piped");
        let (tx, answers) = mpsc::channel();
        std::thread::spawn(move || loop {
            let mut head = [0u8; 5];
            if stdout.read_exact(&mut head).is_err() {
                let _ = tx.send(None);
                return;
            }
            let len = u32::from_le_bytes(head[1..5].try_into().expect("4 bytes")) as usize;
            let mut detail = vec![0; len];
            if stdout.read_exact(&mut detail).is_err() {
                let _ = tx.send(None);
                return;
            }
            let answer = (head[0], String::from_utf8_lossy(&detail).into_owned());
            if tx.send(Some(answer)).is_err() {
                return;
            }
        });
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let sink = stderr.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = err.read(&mut buf) {
                if n == 0 {
                    break;
                }
                let mut s = sink.lock().expect("stderr buffer");
                s.extend_from_slice(&buf[..n]);
                let excess = s.len().saturating_sub(16 << 10);
                s.drain(..excess);
            }
        });
        Ok(Proc {
            child,
            stdin,
            answers,
            stderr,
        })
    }

    pub fn run(&mut self, job: &Job) -> Outcome {
        if self.proc.is_none() {
            match self.start() {
                Ok(p) => self.proc = Some(p),
                Err(e) => return Outcome::new(Class::Crash, format!("cannot start a worker: {e}")),
            }
        }
        let proc = self.proc.as_mut().expect("started above");
        proc.stderr.lock().expect("stderr buffer").clear();
        let sent = proc
            .stdin
            .write_all(&job_frame(job))
            .and_then(|_| proc.stdin.flush());
        let answer = match sent {
            Ok(()) => proc.answers.recv_timeout(self.timeout),
            Err(_) => Ok(None),
        };
        match answer {
            Ok(Some((class, detail))) => {
                Outcome::new(Class::from_byte(class).unwrap_or(Class::Crash), detail)
            }
            Err(RecvTimeoutError::Timeout) => {
                let mut proc = self.proc.take().expect("running");
                let _ = proc.child.kill();
                let _ = proc.child.wait();
                Outcome::new(Class::Timeout, format!("no answer in {:?}", self.timeout))
            }
            Ok(None) | Err(RecvTimeoutError::Disconnected) => {
                let mut proc = self.proc.take().expect("running");
                let status = proc.child.wait().map(|s| s.to_string()).unwrap_or_default();
                // Give the stderr reader a moment to drain what the worker wrote last.
                std::thread::sleep(Duration::from_millis(20));
                let stderr =
                    String::from_utf8_lossy(&proc.stderr.lock().expect("stderr")).into_owned();
                Outcome::new(
                    Class::Crash,
                    format!("the worker died ({status}); stderr:\n{stderr}"),
                )
            }
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        if let Some(mut proc) = self.proc.take() {
            drop(proc.stdin);
            let _ = proc.child.wait();
        }
    }
}
