//! File sources: every line exactly once over any number of workers, at its event time, and
//! clear errors for bad input.

mod common;

use std::path::PathBuf;

use serde::Deserialize;
use weir::control::{Counters, JobControl};
use weir::prelude::*;
use weir::sources::JsonLinesSpec;

use common::run_dataflow;

fn temp_file(name: &str, contents: &[u8]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join(name);
    std::fs::write(&path, contents).expect("write input");
    (dir, path)
}

#[test]
fn text_lines_are_split_over_workers_and_timed_by_line_number() {
    let text: String = (0..1_000).map(|i| format!("line {i}\r\n")).collect();
    let (_dir, path) = temp_file("input.txt", text.as_bytes());
    let clock = EventClock::new(250.0);
    let expected: Vec<(Time, String)> = (0..1_000)
        .map(|i| (clock.time_of(i), format!("line {i}")))
        .collect();
    for workers in 1..=3 {
        let input = LineInput::File(path.clone());
        let output = run_dataflow(workers, move |scope| {
            scope
                .text_lines(input.clone(), clock, JobControl::new())
                .expect("input exists")
        });
        assert_eq!(output, expected, "text lines on {workers} workers");
    }
}

#[derive(Deserialize, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Event {
    id: u64,
    at: u64,
}

fn json_events(count: u64) -> String {
    (0..count)
        .map(|i| format!("{{\"id\":{i},\"at\":{}}}\n", i * 2))
        .collect()
}

#[test]
fn json_lines_are_read_at_the_times_they_carry() {
    let (_dir, path) = temp_file("events.jsonl", json_events(500).as_bytes());
    for workers in 1..=3 {
        let spec = JsonLinesSpec::new(LineInput::File(path.clone()));
        let output = run_dataflow(workers, move |scope| {
            scope
                .json_lines(spec.clone(), |e: &Event| e.at)
                .expect("input exists")
        });
        let expected: Vec<(Time, Event)> = (0..500)
            .map(|i| (i * 2, Event { id: i, at: i * 2 }))
            .collect();
        assert_eq!(output, expected, "json lines on {workers} workers");
    }
}

#[test]
fn a_malformed_json_line_is_an_error_naming_its_line() {
    let mut text = json_events(10);
    text.insert_str(text.find("{\"id\":3").expect("line 4"), "{\"id\": oops}\n");
    let (_dir, path) = temp_file("bad.jsonl", text.as_bytes());
    for workers in 1..=2 {
        let control = JobControl::new();
        let mut spec = JsonLinesSpec::new(LineInput::File(path.clone()));
        spec.control = control.clone();
        run_dataflow(workers, move |scope| {
            scope
                .json_lines(spec.clone(), |e: &Event| e.at)
                .expect("input exists")
        });
        let error = control
            .take_error()
            .expect("the malformed line is reported");
        let message = format!("{error:#}");
        assert!(
            message.contains("bad.jsonl line 4"),
            "message names the line: {message}"
        );
        assert!(
            message.contains("column"),
            "message names the column: {message}"
        );
    }
}

#[test]
fn skip_bad_input_counts_malformed_lines_and_keeps_the_rest() {
    let text = format!(
        "{}not json\n{{\"id\":99}}\n{}",
        json_events(5),
        "{\"id\":5,\"at\":10}\n"
    );
    let (_dir, path) = temp_file("skip.jsonl", text.as_bytes());
    let control = JobControl::new();
    let mut spec = JsonLinesSpec::new(LineInput::File(path));
    spec.control = control.clone();
    spec.skip_bad_input = true;
    let output = run_dataflow(2, move |scope| {
        scope
            .json_lines(spec.clone(), |e: &Event| e.at)
            .expect("input exists")
    });
    let ids: Vec<u64> = output.iter().map(|(_, e)| e.id).collect();
    assert_eq!(ids, vec![0, 1, 2, 3, 4, 5]);
    assert_eq!(Counters::get(&control.counters().skipped), 2);
    assert!(control.take_error().is_none());
}

#[test]
fn records_behind_the_watermark_are_counted_as_late_unless_within_the_bound() {
    // Times 0, 100, 50, 200: 50 trails the newest time (100) by 50.
    let text =
        "{\"id\":0,\"at\":0}\n{\"id\":1,\"at\":100}\n{\"id\":2,\"at\":50}\n{\"id\":3,\"at\":200}\n";
    let (_dir, path) = temp_file("late.jsonl", text.as_bytes());
    for (bound, kept, late) in [(0, 3, 1), (60, 4, 0)] {
        let control = JobControl::new();
        let mut spec = JsonLinesSpec::new(LineInput::File(path.clone()));
        spec.control = control.clone();
        spec.out_of_orderness = bound;
        // One worker reads all four lines in order, so lateness is exact.
        let output = run_dataflow(1, move |scope| {
            scope
                .json_lines(spec.clone(), |e: &Event| e.at)
                .expect("input exists")
        });
        assert_eq!(
            output.len(),
            kept,
            "records kept with a bound of {bound} ms"
        );
        assert_eq!(Counters::get(&control.counters().late), late);
    }
}

#[test]
fn a_text_line_that_is_not_utf8_is_an_error_naming_it() {
    let (_dir, path) = temp_file("bad.txt", b"fine\nalso fine\nbroken \xff\xfe\n");
    let control = JobControl::new();
    let shared = control.clone();
    run_dataflow(1, move |scope| {
        scope
            .text_lines(
                LineInput::File(path.clone()),
                EventClock::new(1000.0),
                shared.clone(),
            )
            .expect("input exists")
    });
    let message = format!(
        "{:#}",
        control.take_error().expect("the bad line is reported")
    );
    assert!(message.contains("bad.txt line 3"), "{message}");
    assert!(message.contains("UTF-8"), "{message}");
}

/// Runs `build` as a job on one worker over 20,000 NEXMark events at `event_rate` events per
/// second of event time, and answers the lines it wrote, and the records and messages that
/// crossed a channel.
fn records_sent(
    event_rate: f64,
    build: impl FnOnce(&mut weir::job::Job<'_>) + Send + Sync + 'static,
) -> (u64, i64, i64) {
    use std::cell::Cell;
    use std::rc::Rc;
    use timely::logging::{TimelyEvent, TimelyEventBuilder};
    use weir::job::{Job, JobConfig};
    use weir::sinks::OutputTarget;

    let control = JobControl::new();
    let counters = control.clone();
    let sent = timely::execute_directly(move |worker| {
        let sent = Rc::new(Cell::new((0i64, 0i64)));
        let counted = Rc::clone(&sent);
        if let Some(mut register) = worker.log_register() {
            register.insert::<TimelyEventBuilder, _>("timely", move |_, events| {
                for (_, event) in events.iter().flatten() {
                    if let TimelyEvent::Messages(message) = event
                        && message.is_send
                    {
                        let (records, messages) = counted.get();
                        counted.set((records + message.record_count, messages + 1));
                    }
                }
            });
        }
        worker.dataflow::<Time, _, _>(move |scope| {
            let mut config = JobConfig::new("nexmark-q0");
            config.events = 20_000;
            config.event_rate = event_rate;
            let target = OutputTarget::new(Box::new(std::io::sink()), false);
            let mut job = Job::new(scope, config, control, target);
            build(&mut job);
            job.finish();
        });
        while worker.step_or_park(None) {}
        if let Some(mut register) = worker.log_register() {
            register.remove("timely");
        }
        sent.get()
    });
    (
        Counters::get(&counters.counters().records_out),
        sent.0,
        sent.1,
    )
}

#[test]
fn a_generated_chain_ending_in_output_sends_no_record_over_a_channel() {
    let bids = {
        let mut generator = weir::nexmark::NexmarkGenerator::new(0, 1_000_000.0);
        (0..20_000)
            .filter(|&n| matches!(generator.event(n), weir::nexmark::Event::Bid(_)))
            .count() as u64
    };
    let (written, sent, _) = records_sent(1_000_000.0, |job| {
        let prices = weir::nexmark::bids(job, weir::nexmark::EventFields::NUMBERS)
            .expect("generated")
            .map(|bid| bid.price);
        job.output(prices);
    });
    assert_eq!(written, bids);
    assert_eq!(sent, 0, "chained steps and output run inside the source");
    // The same steps ended as a stream: every bid crosses the channel to the output sink.
    let (written, sent, _) = records_sent(1_000_000.0, |job| {
        let prices = weir::nexmark::bids(job, weir::nexmark::EventFields::NUMBERS)
            .expect("generated")
            .map(|bid| bid.price);
        job.output(prices.stream());
    });
    assert_eq!(written, bids);
    // One channel, to the sink: the probe on what the generator sent adds no hop.
    assert_eq!(sent, bids as i64);
}

/// A chain ended as a stream sends a message per millisecond of event time; ended as a stream
/// of `Timed` records, a full buffer each, each record keeping its time.
#[test]
fn a_timed_chain_sends_a_batch_of_milliseconds_per_message() {
    let (written, sent, messages) = records_sent(10_000.0, |job| {
        let numbers = job.generate_chain(|n| n).stream();
        job.output(numbers);
    });
    assert_eq!((written, sent), (20_000, 20_000));
    assert!(messages >= 2_000, "{messages} messages for 2,000 ms");
    let (written, sent, messages) = records_sent(10_000.0, |job| {
        let numbers = job.generate_chain(|n| n).timed_stream();
        job.output(numbers);
    });
    assert_eq!((written, sent), (20_000, 20_000));
    // Full buffers of about a thousand records each, and a few part-filled ones.
    assert!(messages <= 40, "{messages} messages for 2,000 ms");
}

/// A chain over a stream already built (an input file) gives each record its message's time.
#[test]
fn a_timed_chain_over_a_built_stream_keeps_each_records_time() {
    use timely::dataflow::operators::capture::Extract;
    use timely::dataflow::operators::Capture;
    use weir::sources::{Chain, ToTimedStream};
    use weir::time::Timed;

    let captured = timely::example(|scope| {
        let stream = vec![(3, 'a'), (3, 'b'), (8, 'c')].to_timed_stream(scope);
        Chain::<char, fn(u64) -> Option<char>>::from(stream)
            .timed_stream()
            .capture()
    });
    let timed = |time, record| Timed { time, record };
    assert_eq!(
        captured.extract(),
        vec![
            (3, vec![timed(3, 'a'), timed(3, 'b')]),
            (8, vec![timed(8, 'c')])
        ]
    );
}

#[test]
fn the_input_probe_trails_what_the_generator_sent_and_reaches_the_end() {
    use std::cell::Cell;
    use std::rc::Rc;

    use timely::dataflow::operators::Inspect;
    use weir::job::{Job, JobConfig};
    use weir::sinks::OutputTarget;

    let events = 50_000;
    let (inside, reached_end) = timely::execute_directly(move |worker| {
        let received = Rc::new(Cell::new(0u64));
        let mut config = JobConfig::new("nexmark-q0");
        config.events = events;
        let clock = config.clock();
        let probe = worker.dataflow::<Time, _, _>(|scope| {
            let target = OutputTarget::new(Box::new(std::io::sink()), false);
            let mut job = Job::new(scope, config, JobControl::new(), target);
            let counted = Rc::clone(&received);
            let records = job
                .generate_chain(|n| n)
                .stream()
                .inspect(move |_| counted.set(counted.get() + 1));
            job.output(records);
            let probe = job.input_probe().clone();
            job.finish();
            probe
        });
        let mut inside = 0;
        while worker.step_or_park(None) {
            if let Some(sent) = probe.with_frontier(|f| f.first().copied()) {
                // Every record before the probe's frontier has been sent, and so seen here.
                let before = clock.first_record_at(sent).min(events);
                assert!(received.get() >= before, "{} of {before}", received.get());
                inside += usize::from(before > 0 && before < events);
            }
        }
        (inside, probe.done() && received.get() == events)
    });
    assert!(inside > 0, "the probe moved only at the end");
    assert!(reached_end);
}
