//! Pause, resume, seek and stop for a running capsule: a [`Controller`] is shared between
//! whoever drives playback (a command, a server's task) and the capsule's `control` import,
//! which the capsule calls between units. Every call of a driver returns at once (it only
//! records what is wanted and wakes the capsule's thread), so async code may call it; only
//! the capsule's own thread ever waits, while paused.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use ddrm_capsule::wire::Control;

use crate::capsule_host::Presenter;

/// The control handle of one capsule run. Clones control the same run.
#[derive(Clone, Default, Debug)]
pub struct Controller(Arc<Shared>);

#[derive(Default, Debug)]
struct Shared {
    wanted: Mutex<Wanted>,
    changed: Condvar,
}

#[derive(Default, Debug)]
struct Wanted {
    paused: bool,
    seek_us: Option<u64>,
    stop: bool,
}

impl Controller {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Wanted> {
        // A panic while holding this lock leaves plain flags behind: still usable.
        self.0.wanted.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn set(&self, change: impl FnOnce(&mut Wanted)) {
        change(&mut self.lock());
        self.0.changed.notify_all();
    }

    /// Holds the capsule at its next unit until [`Controller::resume`] (or a seek or stop).
    pub fn pause(&self) {
        self.set(|w| w.paused = true);
    }

    pub fn resume(&self) {
        self.set(|w| w.paused = false);
    }

    /// Plays from `to` at the capsule's next unit (a later seek before then replaces it). A
    /// pause stays in force: the capsule seeks, then waits.
    pub fn seek(&self, to: Duration) {
        let us = u64::try_from(to.as_micros()).unwrap_or(u64::MAX);
        self.set(|w| w.seek_us = Some(us));
    }

    /// Ends the run at the capsule's next unit, paused or not.
    pub fn stop(&self) {
        self.set(|w| w.stop = true);
    }

    pub fn is_paused(&self) -> bool {
        self.lock().paused
    }

    /// The capsule's side (its `control` import): what it should do before the unit at
    /// `position_us`, and how long it waited for it. While paused, tells `presenter` it is
    /// waiting (and when it no longer is) and blocks this thread.
    pub(crate) fn next(
        &self,
        position_us: i64,
        presenter: &mut dyn Presenter,
    ) -> (Control, Duration) {
        let mut since: Option<Instant> = None;
        let mut wanted = self.lock();
        let control = loop {
            if wanted.stop {
                break Control::Stop;
            }
            if let Some(to_us) = wanted.seek_us.take() {
                break Control::Seek { to_us };
            }
            if !wanted.paused {
                break Control::Continue;
            }
            if since.is_none() {
                since = Some(Instant::now());
                drop(wanted);
                // Outside the lock: the presenter may call back into this controller.
                presenter.waiting(true, position_us);
                wanted = self.lock();
                continue;
            }
            wanted = self
                .0
                .changed
                .wait(wanted)
                .unwrap_or_else(|p| p.into_inner());
        };
        drop(wanted);
        match since {
            Some(t) => {
                presenter.waiting(false, position_us);
                (control, t.elapsed())
            }
            None => (control, Duration::ZERO),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capsule_host::Discard;

    #[test]
    fn a_paused_capsule_waits_until_resumed_and_seeks_and_stops_win() {
        let c = Controller::new();
        assert_eq!(c.next(0, &mut Discard).0, Control::Continue);
        c.seek(Duration::from_millis(5_000));
        c.seek(Duration::from_millis(6_000));
        assert_eq!(
            c.next(0, &mut Discard).0,
            Control::Seek { to_us: 6_000_000 }
        );
        assert_eq!(
            c.next(0, &mut Discard).0,
            Control::Continue,
            "a seek is taken once"
        );

        c.pause();
        let driver = c.clone();
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(200));
            driver.resume();
        });
        let (control, waited) = c.next(0, &mut Discard);
        t.join().unwrap();
        assert_eq!(control, Control::Continue);
        assert!(waited >= Duration::from_millis(150), "waited {waited:?}");

        c.pause();
        c.stop();
        assert_eq!(c.next(0, &mut Discard).0, Control::Stop);
    }
}
