//! The one "do a round, then sleep or stop" loop of `serve`'s background tasks
//! (search indexer, ingest sources, outbox workers, DHX poller, OCR worker,
//! deadline scheduler).
//!
//! [`Every`] runs the first round at once; after a round it stops when
//! shutdown has fired, runs again at once when the round asks for it
//! ([`Next::Again`]: it found work), and otherwise sleeps the interval (or the
//! back-off after a failed round) unless shutdown comes first. A failed round
//! is logged with the task's name and never ends the loop.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::error::Result;

/// What a round asks for next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Next {
    /// Sleep the interval (nothing more to do now).
    Wait,
    /// Run again at once (the round found work; more may be waiting).
    Again,
}

/// The waits after failed rounds: `first`, doubled after each further failure
/// up to `max`, back to `first` after a round that went through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Backoff {
    pub first: Duration,
    pub max: Duration,
}

/// One periodic task's pacing: a loop of rounds written as
///
/// ```ignore
/// let mut every = Every::new("deadline scheduler", interval);
/// while every.tick(&shutdown).await {
///     every.done(round(&app).await.map(|_| Next::Wait));
/// }
/// ```
///
/// [`Every::tick`] waits before the next round (not before the first, nor
/// after [`Next::Again`]) and is false once shutdown fires, during the wait
/// too; [`Every::done`] logs a failed round with the task's name and picks the
/// next wait: the interval, or the back-off ([`Every::backoff`]) after a failure.
#[derive(Debug)]
pub(crate) struct Every {
    name: String,
    interval: Duration,
    backoff: Option<Backoff>,
    /// The next failure's wait (with a back-off).
    next_backoff: Duration,
    /// The wait before the next round; None: at once.
    wait: Option<Duration>,
}

impl Every {
    pub fn new(name: impl Into<String>, interval: Duration) -> Every {
        Every {
            name: name.into(),
            interval,
            backoff: None,
            next_backoff: interval,
            wait: None,
        }
    }

    /// After a failed round wait `b.first`, doubling up to `b.max`; a round
    /// that goes through resets it.
    pub fn backoff(mut self, b: Backoff) -> Every {
        self.backoff = Some(b);
        self.next_backoff = b.first;
        self
    }

    /// Waits before the next round; false when shutdown has fired (the loop ends).
    pub async fn tick(&mut self, shutdown: &CancellationToken) -> bool {
        if let Some(d) = self.wait.take() {
            if sleep_or_shutdown(d, shutdown).await {
                return false;
            }
        }
        !shutdown.is_cancelled()
    }

    /// How the round went; an error is logged with the task's name and never
    /// ends the loop.
    pub fn done(&mut self, round: Result<Next>) {
        self.wait = match round {
            Ok(next) => {
                if let Some(b) = self.backoff {
                    self.next_backoff = b.first;
                }
                match next {
                    Next::Again => None,
                    Next::Wait => Some(self.interval),
                }
            }
            Err(e) => {
                tracing::error!("{}: round failed: {e}", self.name);
                match self.backoff {
                    Some(b) => {
                        let d = self.next_backoff;
                        self.next_backoff = (d * 2).min(b.max);
                        Some(d)
                    }
                    None => Some(self.interval),
                }
            }
        };
    }
}

/// Sleeps `d` unless shutdown comes first; true when shutting down.
pub(crate) async fn sleep_or_shutdown(d: Duration, shutdown: &CancellationToken) -> bool {
    tokio::select! {
        _ = shutdown.cancelled() => true,
        _ = tokio::time::sleep(d) => shutdown.is_cancelled(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::sync::{Arc, Mutex};

    use tokio::time::Instant;

    use crate::error::Error;

    /// The times (since the start) at which rounds ran.
    type Log = Arc<Mutex<Vec<Duration>>>;

    fn spawn(
        interval: Duration,
        backoff: Option<Backoff>,
        results: Vec<std::result::Result<Next, &'static str>>,
    ) -> (Log, CancellationToken, tokio::task::JoinHandle<()>) {
        let log: Log = Arc::default();
        let shutdown = CancellationToken::new();
        let (l, s) = (log.clone(), shutdown.clone());
        let start = Instant::now();
        let task = tokio::spawn(async move {
            let mut results = results.into_iter();
            let mut every = Every::new("test task", interval);
            if let Some(b) = backoff {
                every = every.backoff(b);
            }
            while every.tick(&s).await {
                l.lock().unwrap().push(start.elapsed());
                every.done(match results.next().unwrap_or(Ok(Next::Wait)) {
                    Ok(n) => Ok(n),
                    Err(e) => Err(Error::invalid(e)),
                });
            }
        });
        (log, shutdown, task)
    }

    fn secs(v: &[u64]) -> Vec<Duration> {
        v.iter().map(|s| Duration::from_secs(*s)).collect()
    }

    #[tokio::test(start_paused = true)]
    async fn rounds_repeat_at_the_interval_the_first_at_once() {
        let (log, shutdown, task) = spawn(Duration::from_secs(10), None, vec![]);
        tokio::time::sleep(Duration::from_secs(35)).await;
        assert_eq!(*log.lock().unwrap(), secs(&[0, 10, 20, 30]));
        shutdown.cancel();
        task.await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn shutdown_stops_it_during_the_sleep() {
        let (log, shutdown, task) = spawn(Duration::from_secs(3600), None, vec![]);
        tokio::time::sleep(Duration::from_secs(5)).await;
        let before = Instant::now();
        shutdown.cancel();
        tokio::time::timeout(Duration::from_secs(1), task)
            .await
            .expect("the loop ends at once, not after the hour's sleep")
            .unwrap();
        assert_eq!(before.elapsed(), Duration::ZERO);
        assert_eq!(*log.lock().unwrap(), secs(&[0]));
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_round_does_not_end_the_loop() {
        let (log, shutdown, task) = spawn(
            Duration::from_secs(10),
            None,
            vec![Err("database gone"), Err("database gone"), Ok(Next::Wait)],
        );
        tokio::time::sleep(Duration::from_secs(35)).await;
        assert_eq!(*log.lock().unwrap(), secs(&[0, 10, 20, 30]));
        assert!(!task.is_finished());
        shutdown.cancel();
        task.await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn work_found_runs_again_at_once_and_failures_back_off() {
        let backoff = Backoff {
            first: Duration::from_secs(1),
            max: Duration::from_secs(4),
        };
        let (log, shutdown, task) = spawn(
            Duration::from_secs(100),
            Some(backoff),
            vec![
                Ok(Next::Again),
                Ok(Next::Again),
                Err("a"),
                Err("b"),
                Err("c"),
                Err("d"),
                Ok(Next::Again),
                Err("e"),
                Ok(Next::Wait),
            ],
        );
        tokio::time::sleep(Duration::from_secs(150)).await;
        // 0, 0, 0 (again twice), then waits 1, 2, 4, 4 (capped), a round that
        // went through resets the back-off: 1, then the interval.
        assert_eq!(
            *log.lock().unwrap(),
            secs(&[0, 0, 0, 1, 3, 7, 11, 11, 12, 112])
        );
        shutdown.cancel();
        task.await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn shutdown_before_the_start_runs_no_round() {
        let log: Log = Arc::default();
        let shutdown = CancellationToken::new();
        shutdown.cancel();
        let mut every = Every::new("test task", Duration::from_secs(1));
        while every.tick(&shutdown).await {
            log.lock().unwrap().push(Duration::ZERO);
            every.done(Ok(Next::Wait));
        }
        assert!(log.lock().unwrap().is_empty());
    }
}
