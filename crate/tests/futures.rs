//! The futures client: submit, map, gather, as_completed, result / exception / cancel,
//! retries; on the sync and the threads scheduler.

use partita::engine::{ComputeOptions, Engine, SchedulerKind};
use partita::error::ErrorKind;
use partita::events::{Event, EventSink};
use partita::futures::{Arg, Client, FutureStatus, SubmitOptions};
use partita::value::Value;
use std::time::Duration;

fn client(engine: &Engine, scheduler: SchedulerKind, delay_ms: u64) -> Client {
    let opts = ComputeOptions {
        scheduler,
        workers: 2,
        delay: Duration::from_millis(delay_ms),
        ..Default::default()
    };
    Client::new(engine, &opts, EventSink::new()).unwrap()
}

fn int(i: i64) -> Arg {
    Arg::Value(Value::Int(i))
}

#[test]
fn submit_chains_and_gathers() {
    let engine = Engine::new();
    for scheduler in [SchedulerKind::Sync, SchedulerKind::Threads] {
        let c = client(&engine, scheduler, 0);
        let none = SubmitOptions::default();
        let a = c.submit("x => x + 1", vec![int(1)], &none).unwrap();
        let b = c
            .submit("lambda x, y: x * y", vec![Arg::from(&a), int(10)], &none)
            .unwrap();
        assert_eq!(b.result().unwrap(), Value::Int(20));
        assert_eq!(a.status(), FutureStatus::Finished);
        assert!(a.key().starts_with("lambda-"), "{}", a.key());
        // pure: the same call is the same future
        let again = c.submit("x => x + 1", vec![int(1)], &none).unwrap();
        assert_eq!(again.key(), a.key());
        let squares = c
            .map("x => x * x", vec![(0..20).map(int).collect()], &none)
            .unwrap();
        let total = c
            .submit(
                "xs => sum(xs)",
                vec![Arg::Value(Value::list(c.gather(&squares).unwrap()))],
                &none,
            )
            .unwrap();
        assert_eq!(total.result().unwrap(), Value::Int((0..20).map(|x| x * x).sum()));
        let pairs = c
            .map(
                "(a, b) => a - b",
                vec![(0..5).map(int).collect(), (10..15).map(int).collect()],
                &none,
            )
            .unwrap();
        assert_eq!(c.gather(&pairs).unwrap(), vec![Value::Int(-10); 5]);
        assert!(c.map("(a, b) => a", vec![vec![int(1)], vec![]], &none).is_err());
    }
}

#[test]
fn threaded_client_starts_work_at_submit() {
    let engine = Engine::new();
    let c = client(&engine, SchedulerKind::Threads, 30);
    let f = c
        .submit("x => x", vec![int(7)], &SubmitOptions::default())
        .unwrap();
    // Nobody asks for the result; the driver runs it anyway.
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(f.status(), FutureStatus::Finished);
    let started = c
        .events()
        .events()
        .iter()
        .filter(|e| matches!(e, Event::TaskStarted { .. }))
        .count();
    assert_eq!(started, 1);
}

#[test]
fn as_completed_yields_in_completion_order() {
    let engine = Engine::new();
    let c = client(&engine, SchedulerKind::Sync, 0);
    let fs = c
        .map(
            "x => x * 2",
            vec![(0..6).map(int).collect()],
            &SubmitOptions::default(),
        )
        .unwrap();
    let order: Vec<Value> = c.as_completed(&fs).map(|f| f.result().unwrap()).collect();
    assert_eq!(order.len(), 6);
    let mut sorted = order.clone();
    sorted.sort();
    assert_eq!(sorted, (0..6).map(|x| Value::Int(x * 2)).collect::<Vec<_>>());
    let c2 = client(&engine, SchedulerKind::Threads, 5);
    let fs = c2
        .map(
            "x => x",
            vec![(0..8).map(int).collect()],
            &SubmitOptions::default(),
        )
        .unwrap();
    let completed: Vec<String> = c2.as_completed(&fs).map(|f| f.key().to_string()).collect();
    let finished_order: Vec<String> = c2
        .events()
        .events()
        .iter()
        .filter_map(|e| match e {
            Event::TaskFinished { key, .. } => Some(key.trim_matches('\'').to_string()),
            _ => None,
        })
        .collect();
    assert_eq!(completed, finished_order);
}

#[test]
fn errors_name_the_key_and_dependents_fail_too() {
    let engine = Engine::new();
    for scheduler in [SchedulerKind::Sync, SchedulerKind::Threads] {
        let c = client(&engine, scheduler, 0);
        let none = SubmitOptions::default();
        let bad = c.submit("x => x / 0", vec![int(1)], &none).unwrap();
        let err = bad.result().unwrap_err();
        assert_eq!(err.kind, ErrorKind::Eval);
        assert_eq!(err.key.as_deref(), Some(format!("'{}'", bad.key()).as_str()));
        assert_eq!(bad.status(), FutureStatus::Error);
        assert!(bad.exception().is_some());
        let child = c.submit("x => x + 1", vec![Arg::from(&bad)], &none).unwrap();
        assert_eq!(child.result().unwrap_err().kind, ErrorKind::Eval);
        // The client goes on.
        let ok = c.submit("x => x + 1", vec![int(41)], &none).unwrap();
        assert_eq!(ok.result().unwrap(), Value::Int(42));
    }
}

#[test]
fn retries_run_a_failing_task_again() {
    let engine = Engine::new();
    let c = client(&engine, SchedulerKind::Threads, 0);
    let f = c
        .submit(
            "x => x.missing",
            vec![int(1)],
            &SubmitOptions {
                retries: 2,
                ..Default::default()
            },
        )
        .unwrap();
    assert!(f.result().is_err());
    let failures: Vec<bool> = c
        .events()
        .events()
        .iter()
        .filter_map(|e| match e {
            Event::TaskFailed { retrying, .. } => Some(*retrying),
            _ => None,
        })
        .collect();
    assert_eq!(failures, vec![true, true, false], "two retries, then the error");
}

#[test]
fn cancel_before_it_runs() {
    let engine = Engine::new();
    let c = client(&engine, SchedulerKind::Sync, 0);
    let a = c
        .submit("x => x", vec![int(1)], &SubmitOptions::default())
        .unwrap();
    let b = c
        .submit("x => x + 1", vec![Arg::from(&a)], &SubmitOptions::default())
        .unwrap();
    a.cancel();
    assert_eq!(a.status(), FutureStatus::Cancelled);
    assert_eq!(a.result().unwrap_err().kind, ErrorKind::Cancelled);
    assert_eq!(b.result().unwrap_err().kind, ErrorKind::Cancelled);
    let d = c
        .submit("x => x * 3", vec![int(3)], &SubmitOptions::default())
        .unwrap();
    assert_eq!(d.result().unwrap(), Value::Int(9));
}

#[test]
fn cancel_while_running_discards_the_result() {
    let engine = Engine::new();
    // A long slow-motion delay, so the task is still running when cancel comes even on a
    // loaded machine; the result is not waited for after cancel.
    let c = client(&engine, SchedulerKind::Threads, 1000);
    let f = c
        .submit("x => x", vec![int(1)], &SubmitOptions::default())
        .unwrap();
    std::thread::sleep(Duration::from_millis(40));
    f.cancel();
    assert_eq!(f.result().unwrap_err().kind, ErrorKind::Cancelled);
}
