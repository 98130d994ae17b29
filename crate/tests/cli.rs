//! The native CLI on the example plans and on bad input.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn partita(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_partita"))
        .args(args)
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}
fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

fn example(name: &str) -> String {
    format!("{}/../examples/plans/{name}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn runs_the_counting_example() {
    let o = partita(&["run", &example("counting.json"), "--workers", "2"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), r#"[["A",2],["B",6]]"#);
    let err = stderr(&o);
    assert!(err.contains("worker  tasks   busy ms   share"), "{err}");
    assert!(err.contains("tasks in"), "{err}");
    assert!(err.contains("on 2 worker threads"), "{err}");
}

#[test]
fn every_example_plan_gives_the_same_answer_everywhere() {
    let dir = format!("{}/../examples/plans", env!("CARGO_MANIFEST_DIR"));
    let mut count = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let p = path.to_str().unwrap();
        let reference = stdout(&partita(&[
            "run",
            p,
            "--scheduler",
            "sync",
            "--workers",
            "1",
            "-q",
        ]));
        assert!(!reference.is_empty(), "{p}");
        for (scheduler, workers) in [
            ("sync", "3"),
            ("threads", "1"),
            ("threads", "2"),
            ("threads", "4"),
        ] {
            let o = partita(&["run", p, "--scheduler", scheduler, "--workers", workers, "-q"]);
            assert!(o.status.success(), "{p}: {}", stderr(&o));
            assert_eq!(stdout(&o), reference, "{p} with {scheduler} x{workers}");
            assert!(stderr(&o).is_empty(), "--quiet prints nothing on stderr");
        }
        let unoptimised = partita(&["run", p, "--no-optimize", "-q"]);
        assert_eq!(stdout(&unoptimised), reference, "{p} without optimisation");
        count += 1;
    }
    assert!(count >= 5);
}

#[test]
fn known_answers() {
    let o = partita(&["run", &example("pipeline.json"), "-q"]);
    assert_eq!(stdout(&o), "[1140,10]");
    let o = partita(&["run", &example("delayed.json"), "-q"]);
    assert_eq!(stdout(&o), "33");
    let o = partita(&["run", &example("records.json"), "-q"]);
    assert_eq!(stdout(&o), r#"[["PARIS",2],["LIMA",1]]"#);
}

#[test]
fn graph_formats_and_optimisation() {
    let o = partita(&["graph", &example("counting.json"), "--format", "dask"]);
    let text = stdout(&o);
    assert!(text.contains("('frequencies-part-"), "{text}");
    assert!(
        text.contains(", 0): (frequencies-part, ('from_sequence-"),
        "{text}"
    );
    let o = partita(&["graph", &example("pipeline.json"), "--format", "json"]);
    let full: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let o = partita(&[
        "graph",
        &example("pipeline.json"),
        "--format",
        "json",
        "--optimize",
    ]);
    let fused: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let n = |g: &serde_json::Value| g["tasks"].as_array().unwrap().len();
    assert!(n(&fused) < n(&full), "{} < {}", n(&fused), n(&full));
    let o = partita(&["graph", &example("counting.json")]);
    let summary = stdout(&o);
    assert!(summary.starts_with("5 tasks in 3 layers"), "{summary}");
    assert!(summary.contains("ReductionAggregate level 1"), "{summary}");
}

#[test]
fn events_are_written_as_json_lines() {
    let dir = std::env::temp_dir().join(format!("partita-cli-events-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("events.jsonl");
    let o = partita(&[
        "run",
        &example("counting.json"),
        "--no-optimize",
        "-q",
        "--events",
        file.to_str().unwrap(),
    ]);
    assert!(o.status.success());
    let text = std::fs::read_to_string(&file).unwrap();
    let events: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(events.first().unwrap()["type"], "graph_built");
    assert_eq!(events.last().unwrap()["type"], "done");
    let partials: Vec<&str> = events
        .iter()
        .filter(|e| e["type"] == "task_finished" && e["key"].as_str().unwrap().contains("frequencies-part"))
        .map(|e| e["preview"].as_str().unwrap())
        .collect();
    assert_eq!(partials, vec!["{A: 1, B: 3}", "{A: 1, B: 3}"]);
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn reads_standard_input_validates_and_lists_ops() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_partita"))
        .args(["run", "-", "-q"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(std::fs::read(example("counting.json")).unwrap().as_slice())
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(stdout(&o), r#"[["A",2],["B",6]]"#);
    let o = partita(&["validate", &example("counting.json")]);
    assert_eq!(
        stdout(&o),
        "ok: 2 nodes, 5 tasks, 3 layers\ncounts: {\"kind\":\"value\",\"npartitions\":1}"
    );
    let o = partita(&["ops"]);
    let text = stdout(&o);
    assert!(
        text.contains("bag.frequencies  (1 input; gives a value)"),
        "{text}"
    );
    assert!(text.contains("split_every?: an integer of at least 2"), "{text}");
}

#[test]
fn bad_input_gets_a_clear_message_and_exit_code() {
    let dir = std::env::temp_dir().join(format!("partita-cli-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let write = |name: &str, text: &str| {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_string()
    };
    let cases = [
        (write("broken.json", "{\"version\": 1, \"nodes\": ["), 2, "error: plan error: the plan is not valid JSON: EOF while parsing a list at line 1 column 25"),
        (
            write("unknown.json", r#"{"version": 1, "nodes": [{"id": "a", "op": "bag.cout", "inputs": []}], "outputs": ["a"]}"#),
            2,
            "error: plan error: node 'a': unknown op 'bag.cout'; did you mean bag.count?",
        ),
        (
            write(
                "syntax.json",
                r#"{"version": 1, "nodes": [{"id": "s", "op": "bag.from_sequence", "args": {"items": [1]}}, {"id": "m", "op": "bag.map", "inputs": ["s"], "args": {"func": "x => x +"}}], "outputs": ["m"]}"#,
            ),
            2,
            "error: syntax error: node 'm' (bag.map), argument 'func': expected an expression, found the end of the source at 1:9",
        ),
        (
            write(
                "fails.json",
                r#"{"version": 1, "nodes": [{"id": "s", "op": "bag.from_sequence", "args": {"items": [1, 0], "npartitions": 2}}, {"id": "m", "op": "bag.map", "inputs": ["s"], "args": {"func": "x => 10 / x"}}], "outputs": ["m"]}"#,
            ),
            1,
            "error: eval error in task ('map-",
        ),
        (dir.join("missing.json").to_str().unwrap().to_string(), 2, "error: io error: cannot read the plan file"),
    ];
    for (path, code, needle) in cases {
        let o = partita(&["run", &path]);
        assert_eq!(o.status.code(), Some(code), "{path}: {}", stderr(&o));
        let err = stderr(&o);
        assert!(err.starts_with(needle), "{path}\n got: {err}\nwant: {needle}");
        assert!(!err.contains("panicked"), "{err}");
        assert!(stdout(&o).is_empty());
    }
    let o = partita(&["run", &example("counting.json"), "--scheduler", "fast"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("invalid value 'fast'"));
    std::fs::remove_dir_all(dir).ok();
}
