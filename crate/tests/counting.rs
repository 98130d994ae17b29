//! The course's counting example: partial counts per partition merged into the answer.

use partita::engine::{ComputeOptions, Engine, SchedulerKind};
use partita::events::{Event, EventSink};
use partita::graph::OptimizeOptions;
use partita::plan::{Node, Plan};
use partita::value::Value;
use serde_json::json;

fn counting_plan(items: &str, npartitions: usize) -> Plan {
    let items: Vec<serde_json::Value> = items.chars().map(|c| json!(c.to_string())).collect();
    Plan::new(
        vec![
            Node::new(
                "seq",
                "bag.from_sequence",
                &[],
                json!({"items": items, "npartitions": npartitions}),
            ),
            Node::new("freq", "bag.frequencies", &["seq"], json!({})),
        ],
        &["freq"],
    )
}

fn pairs(v: &Value) -> Vec<(String, i64)> {
    v.as_list()
        .unwrap()
        .iter()
        .map(|p| {
            let l = p.as_list().unwrap();
            (l[0].as_str().unwrap().to_string(), l[1].as_i64().unwrap())
        })
        .collect()
}

#[test]
fn counting_example_events_carry_partial_counts() {
    let engine = Engine::new();
    for scheduler in [SchedulerKind::Sync, SchedulerKind::Threads] {
        let sink = EventSink::new();
        let opts = ComputeOptions {
            scheduler,
            workers: 2,
            optimize: OptimizeOptions::NONE,
            ..Default::default()
        };
        let out = engine
            .compute(&counting_plan("ABBBABBB", 2), &opts, &sink)
            .unwrap();
        assert_eq!(
            pairs(out[0].as_value()),
            vec![("A".to_string(), 2), ("B".to_string(), 6)]
        );
        let events = sink.events();
        let parts: Vec<(String, usize, String)> = events
            .iter()
            .filter_map(|e| match e {
                Event::TaskFinished {
                    key, worker, preview, ..
                } if key.contains("frequencies-part") => Some((key.clone(), *worker, preview.clone())),
                _ => None,
            })
            .collect();
        assert_eq!(parts.len(), 2, "{events:?}");
        for (_, _, preview) in &parts {
            assert_eq!(preview, "{A: 1, B: 3}");
        }
        let agg = events.iter().find_map(|e| match e {
            Event::TaskFinished { key, preview, .. } if key.contains("frequencies-aggregate") => {
                Some(preview.clone())
            }
            _ => None,
        });
        assert_eq!(agg.as_deref(), Some("{A: 2, B: 6}"));
        assert!(matches!(events.last(), Some(Event::Done { ok: true, .. })));
        if scheduler == SchedulerKind::Sync {
            assert_ne!(parts[0].1, parts[1].1, "logical workers alternate");
        }
    }
}
