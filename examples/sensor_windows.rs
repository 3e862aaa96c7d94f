//! The hottest reading per sensor in one-second tumbling windows of event time.
//!
//! A generator makes 10,000 readings at 1,000 per second of event time; record `n` comes
//! from sensor `n % 4` with a pseudo-random temperature. `aggregate` keeps the maximum per
//! sensor and window and reports each window once the watermark passes its end.
//!
//!     cargo run --release --example sensor_windows

use timely::dataflow::operators::Inspect;
use weir::prelude::*;
use weir::sources::random_of;

fn main() {
    timely::execute(timely::Config::process(2), |worker| {
        worker.dataflow::<Time, _, _>(|scope| {
            let spec = GeneratorSpec::new(10_000, EventClock::new(1_000.0));
            scope
                .generate(spec, |n| (n % 4, random_of(7, n) % 400))
                .aggregate("hottest", Window::tumbling(1_000), Max::<u64>::new())
                .inspect(|result| {
                    println!(
                        "sensor {} [{:>5} ms, {:>5} ms): max {}.{} degrees",
                        result.key,
                        result.window.start,
                        result.window.end,
                        result.value / 10,
                        result.value % 10
                    )
                });
        });
    })
    .expect("timely starts");
}
