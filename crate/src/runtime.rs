//! The one place that knows the target: clocks and sleeping differ between native,
//! threaded wasm (atomics) and single-threaded wasm.

use std::sync::OnceLock;
use std::time::Duration;
use web_time::Instant;

static EPOCH: OnceLock<Instant> = OnceLock::new();

/// Milliseconds since the engine's first clock reading: monotonic, shared by all threads.
pub fn now_ms() -> f64 {
    let epoch = EPOCH.get_or_init(Instant::now);
    epoch.elapsed().as_secs_f64() * 1000.0
}

/// Sleeps the current thread. Single-threaded wasm cannot block a thread, so there the
/// delay is a busy wait (lessons pace that bundle from JS with step mode instead).
pub fn sleep(duration: Duration) {
    if duration.is_zero() {
        return;
    }
    #[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
    {
        let start = Instant::now();
        while start.elapsed() < duration {
            std::hint::spin_loop();
        }
    }
    #[cfg(not(all(target_arch = "wasm32", not(target_feature = "atomics"))))]
    std::thread::sleep(duration);
}

/// Whether this build can run tasks on several threads.
pub fn threads_available() -> bool {
    cfg!(not(all(target_arch = "wasm32", not(target_feature = "atomics"))))
}

/// Waits at most `timeout` for a message. crossbeam's own `recv_timeout` reads
/// `std::time::Instant`, which wasm32 does not have, so there we poll with short sleeps.
pub fn recv_timeout<T>(rx: &crossbeam_channel::Receiver<T>, timeout: Duration) -> Option<T> {
    #[cfg(target_arch = "wasm32")]
    {
        let start = Instant::now();
        loop {
            if let Ok(msg) = rx.try_recv() {
                return Some(msg);
            }
            let elapsed = start.elapsed();
            if elapsed >= timeout {
                return None;
            }
            sleep((timeout - elapsed).min(Duration::from_micros(200)));
        }
    }
    #[cfg(not(target_arch = "wasm32"))]
    rx.recv_timeout(timeout).ok()
}
