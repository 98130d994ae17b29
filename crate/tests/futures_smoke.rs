use partita::engine::{ComputeOptions, Engine, SchedulerKind};
use partita::events::EventSink;
use partita::futures::{Arg, Client, FutureStatus, SubmitOptions};
use partita::value::Value;

#[test]
fn submit_and_gather_on_both_schedulers() {
    let engine = Engine::new();
    for scheduler in [SchedulerKind::Sync, SchedulerKind::Threads] {
        let opts = ComputeOptions {
            scheduler,
            workers: 2,
            ..Default::default()
        };
        let client = Client::new(&engine, &opts, EventSink::new()).unwrap();
        let a = client
            .submit(
                "x => x",
                vec![Arg::Value(Value::Int(3))],
                &SubmitOptions::default(),
            )
            .unwrap();
        let b = client
            .submit(
                "x => x",
                vec![Arg::from(&a)],
                &SubmitOptions {
                    name: Some("again".into()),
                    ..Default::default()
                },
            )
            .unwrap();
        assert_eq!(b.result().unwrap(), Value::Int(3));
        assert_eq!(a.status(), FutureStatus::Finished);
        let fs = client
            .map(
                "x => x",
                vec![(0..10).map(|i| Arg::Value(Value::Int(i))).collect()],
                &SubmitOptions::default(),
            )
            .unwrap();
        let got = client.gather(&fs).unwrap();
        assert_eq!(got, (0..10).map(Value::Int).collect::<Vec<_>>());
        let order: Vec<_> = client.as_completed(&fs).collect();
        assert_eq!(order.len(), 10);
    }
}
