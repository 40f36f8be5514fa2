//! The global memory budget of the DHX endpoint: one byte budget
//! (`dhx.max_inflight_bytes`) shared by every request of a listener. A request's
//! body, its parse and every decompression take their bytes from it *before*
//! allocating them and give them back when the request ends; when the budget is
//! spent the request is answered with a server fault (HTTP 503, "try later")
//! instead of allocating. The per-request `max_request_bytes` and the per-capsule
//! `max_decompressed_bytes` still apply on top.

use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::{Fault, FaultCode};

/// The shared budget of one listener, in bytes.
#[derive(Debug, Clone)]
pub struct Budget {
    sem: Arc<Semaphore>,
    total: u64,
}

impl Budget {
    pub fn new(total: u64) -> Budget {
        let total = total.min(Semaphore::MAX_PERMITS as u64);
        Budget {
            sem: Arc::new(Semaphore::new(total as usize)),
            total,
        }
    }

    /// A request's share: empty at first, given back (all of it) when the last
    /// clone is dropped.
    pub fn reservation(&self) -> Reservation {
        Reservation {
            budget: self.clone(),
            held: Arc::new(Mutex::new(None)),
        }
    }

    /// Bytes not taken by any request now.
    pub fn available(&self) -> u64 {
        self.sem.available_permits() as u64
    }

    pub fn total(&self) -> u64 {
        self.total
    }
}

/// What one request holds of the [`Budget`].
#[derive(Debug, Clone)]
pub struct Reservation {
    budget: Budget,
    held: Arc<Mutex<Option<OwnedSemaphorePermit>>>,
}

impl Reservation {
    /// Takes `bytes` more, without waiting: a `Busy` fault when the budget cannot
    /// give them now.
    pub fn take(&self, bytes: u64) -> Result<(), Fault> {
        if bytes == 0 {
            return Ok(());
        }
        let busy = || {
            Fault::new(
                FaultCode::Busy,
                format!(
                    "the receiver is busy: {bytes} more bytes do not fit in the budget of {} bytes for requests in progress; try again later",
                    self.budget.total
                ),
            )
        };
        let n = u32::try_from(bytes).map_err(|_| busy())?;
        let permit = self
            .budget
            .sem
            .clone()
            .try_acquire_many_owned(n)
            .map_err(|_| busy())?;
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        match held.as_mut() {
            Some(p) => p.merge(permit),
            None => *held = Some(permit),
        }
        Ok(())
    }

    /// Bytes this request holds.
    pub fn held(&self) -> u64 {
        self.held
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .map_or(0, |p| p.num_permits() as u64)
    }
}

/// Takes `bytes` from `r` when there is a reservation (readers outside the
/// endpoint, such as `dhx import`, have none).
pub fn take(r: Option<&Reservation>, bytes: u64) -> Result<(), Fault> {
    match r {
        Some(r) => r.take(bytes),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_share_one_budget_and_give_it_back_when_done() {
        let b = Budget::new(1000);
        let r1 = b.reservation();
        let r2 = b.reservation();
        r1.take(600).unwrap();
        r1.take(100).unwrap();
        assert_eq!(r1.held(), 700);
        let f = r2.take(400).unwrap_err();
        assert_eq!(f.code, FaultCode::Busy);
        assert!(f.message.contains("budget of 1000 bytes"), "{}", f.message);
        r2.take(300).unwrap();
        assert_eq!(b.available(), 0);
        let clone = r1.clone();
        drop(r1);
        assert_eq!(b.available(), 0, "a clone still holds the request's bytes");
        drop(clone);
        assert_eq!(b.available(), 700);
        drop(r2);
        assert_eq!(b.available(), 1000);
        assert!(b.reservation().take(u64::MAX).is_err());
    }

    #[test]
    fn a_gzip_bomb_costs_no_budget_and_content_costs_exactly_its_size() {
        use crate::dhx::capsule::{gunzip_lenient, gzip};
        let b = Budget::new(100_000);
        let r = b.reservation();
        // 50 MB of zeros against a 1 MB limit: refused by size, nothing taken
        let bomb = gzip(&vec![0u8; 50 << 20]);
        let f = gunzip_lenient(&bomb, 1 << 20, "x", Some(&r)).unwrap_err();
        assert_eq!(f.code, FaultCode::SizeLimitExceeded);
        assert_eq!(r.held(), 0);
        // content within the limit: exactly its size taken, bytes intact
        let text: Vec<u8> = (0..60_000u32).map(|i| (i % 251) as u8).collect();
        let (out, err) = gunzip_lenient(&gzip(&text), 1 << 20, "x", Some(&r)).unwrap();
        assert_eq!(out, text);
        assert!(err.is_none());
        assert_eq!(r.held(), 60_000);
        // the next one does not fit the budget: busy, before allocating
        let f = gunzip_lenient(&gzip(&text), 1 << 20, "x", Some(&r)).unwrap_err();
        assert_eq!(f.code, FaultCode::Busy);
        assert_eq!(r.held(), 60_000);
        // a truncated stream: what could be read, and the error (as without a budget)
        let gz = gzip(&text);
        let cut = &gz[..gz.len() / 2];
        let r2 = Budget::new(1 << 20).reservation();
        let (a, ea) = gunzip_lenient(cut, 1 << 20, "x", Some(&r2)).unwrap();
        let (b2, eb) = gunzip_lenient(cut, 1 << 20, "x", None).unwrap();
        assert_eq!(a, b2);
        assert!(ea.is_some() && eb.is_some());
        assert_eq!(r2.held(), a.len() as u64);
    }
}
