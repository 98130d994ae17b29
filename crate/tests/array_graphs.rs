//! Array graph shapes (the task counts a learner sees per layer), and the errors of the
//! newer array operations, with the engine usable afterwards.

use partita::engine::{ComputeOptions, Engine};
use partita::events::EventSink;
use partita::graph::{LayerKind, OptimizeOptions, TaskGraph};
use partita::plan::{Node, Plan};
use serde_json::{json, Value as Json};

fn ones(id: &str, shape: Json, chunks: Json) -> Node {
    Node::new(id, "array.ones", &[], json!({"shape": shape, "chunks": chunks}))
}

fn graph(plan: &Plan, optimize: bool) -> TaskGraph {
    let o = if optimize {
        OptimizeOptions::ALL
    } else {
        OptimizeOptions::NONE
    };
    Engine::new().graph(plan, o).unwrap()
}

fn compute(engine: &Engine, plan: &Plan) -> Result<Json, String> {
    engine
        .compute(plan, &ComputeOptions::default(), &EventSink::new())
        .map(|out| out[0].to_json())
        .map_err(|e| e.to_string())
}

/// Tasks per reduction layer, parts first, then each aggregate level.
fn reduction_layers(g: &TaskGraph) -> Vec<usize> {
    let mut out: Vec<(u32, usize)> = g
        .layers()
        .iter()
        .filter(|l| matches!(l.kind, LayerKind::ReductionPart | LayerKind::ReductionAggregate))
        .map(|l| (l.level.unwrap_or(0), l.tasks.len()))
        .collect();
    out.sort();
    out.into_iter().map(|(_, n)| n).collect()
}

/// Expected tasks per layer: `groups` independent trees over `n` partials each.
fn tree(groups: usize, n: usize, k: usize) -> Vec<usize> {
    let mut out = vec![groups * n];
    let mut width = n;
    while width > k {
        width = width.div_ceil(k);
        out.push(groups * width);
    }
    out.push(groups);
    out
}

#[test]
fn reduction_layers_follow_numblocks_and_split_every() {
    // (shape, chunks, axis, split_every, independent trees, partials per tree)
    let cases: &[(Json, Json, Json, usize, usize, usize)] = &[
        (json!([40]), json!(4), json!(null), 8, 1, 10),
        (json!([40]), json!(4), json!(null), 3, 1, 10),
        (json!([20, 30]), json!([2, 3]), json!(null), 4, 1, 100),
        (json!([20, 30]), json!([2, 3]), json!(0), 4, 10, 10),
        (json!([20, 30]), json!([2, 3]), json!(1), 2, 10, 10),
        (json!([20, 30]), json!([2, 3]), json!(-1), 16, 10, 10),
        (json!([6, 8, 10]), json!([2, 2, 5]), json!([0, 2]), 2, 4, 6),
        (json!([6, 8, 10]), json!([2, 2, 5]), json!([1, 2]), 3, 3, 8),
        (json!([6, 8, 10]), json!([2, 2, 5]), json!(2), 8, 12, 2),
        (json!([5]), json!(5), json!(null), 8, 1, 1),
    ];
    for op in ["array.sum", "array.mean", "array.var", "array.max", "array.any"] {
        for (shape, chunks, axis, k, groups, n) in cases {
            let plan = Plan::new(
                vec![
                    ones("x", shape.clone(), chunks.clone()),
                    Node::new("r", op, &["x"], json!({"axis": axis, "split_every": k})),
                ],
                &["r"],
            );
            let got = reduction_layers(&graph(&plan, false));
            assert_eq!(
                got,
                tree(*groups, *n, *k),
                "{op} shape {shape} chunks {chunks} axis {axis} k {k}"
            );
        }
    }
    // argmin/argmax take one axis: the same trees.
    for op in ["array.argmin", "array.argmax"] {
        for (axis, groups, n) in [(json!(null), 1, 100), (json!(0), 10, 10), (json!(1), 10, 10)] {
            let plan = Plan::new(
                vec![
                    ones("x", json!([20, 30]), json!([2, 3])),
                    Node::new("r", op, &["x"], json!({"axis": axis, "split_every": 4})),
                ],
                &["r"],
            );
            assert_eq!(
                reduction_layers(&graph(&plan, false)),
                tree(groups, n, 4),
                "{op} axis {axis}"
            );
        }
    }
}

#[test]
fn matmul_has_one_partial_product_per_inner_block_and_a_sum_per_output_block() {
    // A: 3 x 4 blocks, B: 4 x 5 blocks -> 60 products, summed in pairs (split_every 2):
    // 30, then 15 output blocks.
    let plan = Plan::new(
        vec![
            ones("a", json!([6, 8]), json!(2)),
            ones("b", json!([8, 10]), json!(2)),
            Node::new("m", "array.matmul", &["a", "b"], json!({"split_every": 2})),
        ],
        &["m"],
    );
    let g = graph(&plan, false);
    let count = |label: &str| -> usize {
        g.layers()
            .iter()
            .filter(|l| l.label == label)
            .map(|l| l.tasks.len())
            .sum()
    };
    assert_eq!(count("matmul-part"), 60);
    assert_eq!(count("matmul-sum"), 30 + 15);
    let engine = Engine::new();
    let out = compute(&engine, &plan).unwrap();
    assert_eq!(out[5][9], json!(8.0), "each entry is a sum of 8 ones");
}

#[test]
fn slicing_and_blocks_read_only_the_blocks_they_need() {
    // 10 x 10 blocks; x[::2, 35:62] touches every row block and column blocks 3..6.
    let slice = Plan::new(
        vec![
            ones("x", json!([100, 100]), json!(10)),
            Node::new("y", "array.elemwise", &["x"], json!({"op": "mul", "other": 3})),
            Node::new(
                "g",
                "array.getitem",
                &["y"],
                json!({"index": [{"step": 2}, {"start": 35, "stop": 62}]}),
            ),
        ],
        &["g"],
    );
    assert_eq!(graph(&slice, false).len(), 100 + 100 + 40);
    assert_eq!(
        graph(&slice, true).len(),
        40,
        "ones, mul and getitem fused per block"
    );
    let pick = Plan::new(
        vec![
            ones("x", json!([100, 100]), json!(10)),
            Node::new(
                "b",
                "array.blocks",
                &["x"],
                json!({"index": [-1, {"start": 2, "stop": 4}]}),
            ),
        ],
        &["b"],
    );
    assert_eq!(graph(&pick, true).len(), 2);
    let engine = Engine::new();
    let out = compute(&engine, &pick).unwrap();
    assert_eq!(out.as_array().map(Vec::len), Some(10));
    assert_eq!(out[0].as_array().map(Vec::len), Some(20));
}

#[test]
fn reshape_rechunks_only_where_axes_merge_or_split() {
    let layers = |shape: Json, chunks: Json, new: Json| -> (bool, usize) {
        let plan = Plan::new(
            vec![
                ones("x", shape, chunks),
                Node::new("r", "array.reshape", &["x"], json!({"shape": new})),
            ],
            &["r"],
        );
        let g = graph(&plan, false);
        let rechunk = g.layers().iter().any(|l| l.label.starts_with("rechunk"));
        let tasks = g
            .layers()
            .iter()
            .find(|l| l.label == "reshape")
            .map_or(0, |l| l.tasks.len());
        (rechunk, tasks)
    };
    // Merging (4, 6) with whole rows: no rechunk, one output block per row block.
    assert_eq!(layers(json!([4, 6]), json!([1, 6]), json!([24])), (false, 4));
    // Rows cut in two: they are joined first.
    assert_eq!(layers(json!([4, 6]), json!([2, 3]), json!([24])), (true, 2));
    // Splitting 24 into (4, 6) with blocks of 12: multiples of 6 already.
    assert_eq!(layers(json!([24]), json!(12), json!([4, 6])), (false, 2));
    // Blocks of 5 become blocks of 6 (one row of the output each).
    assert_eq!(layers(json!([24]), json!(5), json!([4, 6])), (true, 4));
}

#[test]
fn bad_arguments_are_refused_with_shapes_named_and_the_engine_stays_usable() {
    let engine = Engine::new();
    let cases: Vec<(Plan, &str)> = vec![
        (
            Plan::new(
                vec![
                    ones("c", json!([3, 4]), json!(2)),
                    ones("x", json!([4]), json!(2)),
                    ones("y", json!([5]), json!(2)),
                    Node::new("w", "array.where", &["c", "x", "y"], json!({})),
                ],
                &["w"],
            ),
            "shapes (3, 4) (4,) (5,)",
        ),
        (
            Plan::new(
                vec![
                    ones("c", json!([3]), json!(2)),
                    Node::new("w", "array.where", &["c"], json!({"x": 1})),
                ],
                &["w"],
            ),
            "expected 2 inputs, got 1",
        ),
        (
            Plan::new(
                vec![
                    ones("x", json!([4, 6]), json!(2)),
                    Node::new("r", "array.reshape", &["x"], json!({"shape": [5, 5]})),
                ],
                &["r"],
            ),
            "cannot reshape an array of shape (4, 6) (size 24) into shape (5, 5)",
        ),
        (
            Plan::new(
                vec![
                    ones("x", json!([4, 6]), json!(2)),
                    Node::new("r", "array.reshape", &["x"], json!({"shape": [-1, -1]})),
                ],
                &["r"],
            ),
            "only specify one unknown dimension",
        ),
        (
            Plan::new(
                vec![
                    ones("x", json!([4, 6]), json!(2)),
                    Node::new("b", "array.blocks", &["x"], json!({"index": [0, 3]})),
                ],
                &["b"],
            ),
            "index 3 is out of bounds for axis 1 with size 3",
        ),
        (
            Plan::new(
                vec![
                    ones("x", json!([4, 6]), json!(2)),
                    Node::new("r", "array.sum", &["x"], json!({"axis": [0, -2]})),
                ],
                &["r"],
            ),
            "duplicate value in 'axis'",
        ),
        (
            Plan::new(
                vec![
                    ones("x", json!([4, 6]), json!(2)),
                    Node::new("r", "array.argmax", &["x"], json!({"axis": [0, 1]})),
                ],
                &["r"],
            ),
            "one axis, as NumPy",
        ),
        (
            Plan::new(
                vec![
                    ones("x", json!([0, 3]), json!(2)),
                    Node::new("r", "array.argmin", &["x"], json!({})),
                ],
                &["r"],
            ),
            "attempt to get argmin of an empty sequence",
        ),
        (
            Plan::new(
                vec![
                    ones("x", json!([4]), json!(2)),
                    Node::new(
                        "m",
                        "array.map_blocks",
                        &["x"],
                        json!({"func": "x => 'a' + str(x)", "dtype": "float64"}),
                    ),
                ],
                &["m"],
            ),
            "must return a number or a bool",
        ),
    ];
    for (plan, message) in &cases {
        let err = compute(&engine, plan).expect_err(message);
        assert!(err.contains(message), "expected '{message}' in: {err}");
        let ok = Plan::new(
            vec![
                Node::new("x", "array.arange", &[], json!({"stop": 10, "chunks": 3})),
                Node::new("r", "array.argmax", &["x"], json!({})),
            ],
            &["r"],
        );
        assert_eq!(compute(&engine, &ok).unwrap(), json!(9), "after: {message}");
    }
}

/// `arange(n)` of `dtype` reshaped to `shape`, in blocks of `chunks`.
fn arange_as(id: &str, n: usize, dtype: &str, shape: Json, chunks: Json) -> Vec<Node> {
    let flat = format!("{id}-flat");
    let whole = format!("{id}-whole");
    vec![
        Node::new(
            &flat,
            "array.arange",
            &[],
            json!({"stop": n, "chunks": n, "dtype": dtype}),
        ),
        Node::new(&whole, "array.reshape", &[&flat], json!({"shape": shape})),
        Node::new(id, "array.rechunk", &[&whole], json!({"chunks": chunks})),
    ]
}

fn transposes(g: &TaskGraph) -> usize {
    g.tasks()
        .iter()
        .filter(|t| t.op.name().starts_with("transpose"))
        .count()
}

/// Every number in a (nested) JSON array, in order.
fn numbers(v: &Json) -> Vec<f64> {
    match v {
        Json::Array(items) => items.iter().flat_map(numbers).collect(),
        other => other.as_f64().into_iter().collect(),
    }
}

/// `x + x.T`: the optimiser reads the transposed blocks through a view (no transpose
/// tasks are left), names the fold in the layer's label, and the values are still right:
/// x[i][j] = 6i + j, so (x + x.T)[i][j] = 7(i + j) and its sum is 2 * (0 + ... + 35).
#[test]
fn transposes_fold_into_the_elementwise_op_that_reads_them() {
    let engine = Engine::new();
    for dtype in ["float64", "int64"] {
        let mut nodes = arange_as("x", 36, dtype, json!([6, 6]), json!([4, 4]));
        nodes.push(Node::new("t", "array.transpose", &["x"], json!({})));
        nodes.push(Node::new(
            "s",
            "array.elemwise",
            &["x", "t"],
            json!({"op": "add"}),
        ));
        nodes.push(Node::new("total", "array.sum", &["s"], json!({})));
        let summed = Plan::new(nodes.clone(), &["total"]);
        assert_eq!(
            transposes(&graph(&summed, false)),
            4,
            "one transpose per block as written"
        );
        let opt = graph(&summed, true);
        let names: Vec<String> = opt.tasks().iter().map(|t| t.op.name()).collect();
        assert!(
            !names.iter().any(|n| n == "transpose"),
            "{dtype}: not folded: {names:?}"
        );
        assert!(
            names.iter().any(|n| n == "transpose+add+sum-chunk"),
            "{dtype}: {names:?}"
        );
        assert!(
            opt.layers().iter().any(|l| l.label.starts_with("transpose-add")),
            "labels: {:?}",
            opt.layers().iter().map(|l| &l.label).collect::<Vec<_>>()
        );
        assert_eq!(
            numbers(&compute(&engine, &summed).unwrap()),
            vec![1260.0],
            "{dtype}"
        );

        // The element-wise block itself (no sum after it).
        let whole = Plan::new(nodes.clone(), &["s"]);
        let names: Vec<String> = graph(&whole, true).tasks().iter().map(|t| t.op.name()).collect();
        assert!(
            !names.iter().any(|n| n == "transpose"),
            "{dtype}: not folded: {names:?}"
        );
        assert_eq!(
            names.iter().filter(|n| *n == "transpose+add").count(),
            4,
            "{names:?}"
        );
        let expected: Vec<f64> = (0..6)
            .flat_map(|i| (0..6).map(move |j| 7.0 * (i + j) as f64))
            .collect();
        assert_eq!(numbers(&compute(&engine, &whole).unwrap()), expected, "{dtype}");

        // A transpose that is also an output, or read twice, stays.
        let kept = Plan::new(nodes.clone(), &["total", "t"]);
        assert!(graph(&kept, true)
            .tasks()
            .iter()
            .any(|t| t.op.name() == "transpose"));
        let mut twice = nodes;
        twice.push(Node::new(
            "u",
            "array.elemwise",
            &["t", "t"],
            json!({"op": "mul"}),
        ));
        twice.push(Node::new(
            "both",
            "array.elemwise",
            &["s", "u"],
            json!({"op": "add"}),
        ));
        twice.push(Node::new("b", "array.sum", &["both"], json!({})));
        let plan = Plan::new(twice, &["b"]);
        assert!(graph(&plan, true)
            .tasks()
            .iter()
            .any(|t| t.op.name() == "transpose"));
        // The sum of 7(i + j), plus the sum of the squares of 0..35.
        let squares: f64 = (0..36).map(|v| (v * v) as f64).sum();
        assert_eq!(
            numbers(&compute(&engine, &plan).unwrap()),
            vec![1260.0 + squares],
            "{dtype}"
        );
    }
}

/// A 3-d transpose with an axis order folds too: y has shape (4, 2, 3), y[a][b][c] =
/// 6a + 3b + c; t = y.transpose(1, 2, 0) has t[i][j][k] = y[k][i][j]; z[i][j][k] =
/// 12i + 4j + k; so (z - t)[i][j][k] = 9i + 3j - 5k.
#[test]
fn a_three_dimensional_transpose_folds_with_its_axis_order() {
    let engine = Engine::new();
    let mut nodes = arange_as("y", 24, "float64", json!([4, 2, 3]), json!([3, 1, 2]));
    nodes.extend(arange_as("z", 24, "float64", json!([2, 3, 4]), json!([1, 2, 3])));
    nodes.push(Node::new(
        "t",
        "array.transpose",
        &["y"],
        json!({"axes": [1, 2, 0]}),
    ));
    nodes.push(Node::new(
        "d",
        "array.elemwise",
        &["z", "t"],
        json!({"op": "sub"}),
    ));
    nodes.push(Node::new("total", "array.sum", &["d"], json!({})));
    let by_hand = |i: i64, j: i64, k: i64| (12 * i + 4 * j + k - (6 * k + 3 * i + j)) as f64;
    let whole = Plan::new(nodes.clone(), &["d"]);
    assert!(!graph(&whole, true)
        .tasks()
        .iter()
        .any(|t| t.op.name() == "transpose"));
    let expected: Vec<f64> = (0..2)
        .flat_map(|i| (0..3).flat_map(move |j| (0..4).map(move |k| by_hand(i, j, k))))
        .collect();
    assert_eq!(numbers(&compute(&engine, &whole).unwrap()), expected);
    let summed = Plan::new(nodes, &["total"]);
    assert!(graph(&summed, true)
        .tasks()
        .iter()
        .any(|t| t.op.name() == "transpose+sub+sum-chunk"));
    assert_eq!(
        numbers(&compute(&engine, &summed).unwrap()),
        vec![expected.iter().sum::<f64>()]
    );
}

/// A blocked matmul's terms fold into the sums that read them: no `matmul-part` task is
/// left, the sums that read only terms multiply the pairs themselves, and the values match
/// a plain triple loop. a[i][k] = 8i + k (6 x 8), b[k][j] = 10k + j (8 x 10), chunks of 2,
/// so every output block has 4 terms.
#[test]
fn matmul_terms_fold_into_the_sums_that_read_them() {
    let expected: Vec<f64> = (0..6)
        .flat_map(|i| (0..10).map(move |j| (0..8).map(|k| ((8 * i + k) * (10 * k + j)) as f64).sum::<f64>()))
        .collect();
    let engine = Engine::new();
    for dtype in ["float64", "int64"] {
        for (split_every, folded_sums, sums_left) in [(8, 15, 0), (2, 30, 15)] {
            let mut nodes = arange_as("a", 48, dtype, json!([6, 8]), json!(2));
            nodes.extend(arange_as("b", 80, dtype, json!([8, 10]), json!(2)));
            nodes.push(Node::new(
                "m",
                "array.matmul",
                &["a", "b"],
                json!({"split_every": split_every}),
            ));
            let plan = Plan::new(nodes.clone(), &["m"]);
            let opt = graph(&plan, true);
            let names: Vec<String> = opt.tasks().iter().map(|t| t.op.name()).collect();
            let count = |name: &str| names.iter().filter(|n| *n == name).count();
            assert_eq!(
                count("matmul-part"),
                0,
                "{dtype} split_every {split_every}: {names:?}"
            );
            assert_eq!(count("matmul-part+sum"), folded_sums, "{dtype}: {names:?}");
            assert_eq!(count("sum-aggregate"), sums_left, "{dtype}: {names:?}");
            assert!(opt.layers().iter().any(|l| l.label == "matmul-part+sum"));
            // Each folded sum reads the pairs of its terms: 2 blocks per term.
            let terms = if split_every == 8 { 4 } else { 2 };
            assert!(opt
                .tasks()
                .iter()
                .filter(|t| t.op.name() == "matmul-part+sum")
                .all(|t| t.deps.len() == 2 * terms));
            let got = numbers(&compute(&engine, &plan).unwrap());
            assert_eq!(got, expected, "{dtype} split_every {split_every}");
            // Unoptimised, the same values from the terms summed apart.
            let plain = engine
                .compute(
                    &plan,
                    &ComputeOptions {
                        optimize: OptimizeOptions::NONE,
                        ..Default::default()
                    },
                    &EventSink::new(),
                )
                .unwrap();
            assert_eq!(numbers(&plain[0].to_json()), expected, "{dtype} unoptimised");
        }
    }
}

/// Terms are kept when anything else needs them: a matmul whose result is also summed
/// folds, but the terms of a sum are left alone when a term is read twice.
#[test]
fn matmul_terms_read_elsewhere_are_kept() {
    let mut nodes = arange_as("a", 16, "float64", json!([4, 4]), json!(2));
    nodes.extend(arange_as("b", 16, "float64", json!([4, 4]), json!(2)));
    nodes.push(Node::new("m", "array.matmul", &["a", "b"], json!({})));
    nodes.push(Node::new("total", "array.sum", &["m"], json!({})));
    // sum(a @ a) = sum over k of (column sum k) * (row sum k) of a = arange(16).reshape(4, 4):
    // 24 * 6 + 28 * 22 + 32 * 38 + 36 * 54 = 3920; the loop below works it out the long way.
    let a: Vec<f64> = (0..16).map(f64::from).collect();
    let want: f64 = (0..4)
        .flat_map(|i| (0..4).map(move |j| (i, j)))
        .map(|(i, j)| (0..4).map(|k| a[i * 4 + k] * a[k * 4 + j]).sum::<f64>())
        .sum();
    assert_eq!(want, 3920.0);
    let plan = Plan::new(nodes.clone(), &["total"]);
    let names: Vec<String> = graph(&plan, true).tasks().iter().map(|t| t.op.name()).collect();
    assert!(
        names.iter().any(|n| n.starts_with("matmul-part+sum")),
        "{names:?}"
    );
    assert_eq!(numbers(&compute(&Engine::new(), &plan).unwrap()), vec![want]);

    // A term that is also an output is kept as a task, and so is the sum over it.
    let mut g = graph(&plan, false);
    let term = g
        .tasks()
        .iter()
        .position(|t| t.op.name() == "matmul-part")
        .unwrap();
    let mut outputs = g.outputs().to_vec();
    outputs.push(partita::graph::TaskId(term as u32));
    g.set_outputs(outputs);
    let opt = g.optimize(OptimizeOptions::ALL);
    let names: Vec<String> = opt.tasks().iter().map(|t| t.op.name()).collect();
    assert_eq!(
        names.iter().filter(|n| *n == "matmul-part").count(),
        2,
        "{names:?}"
    );
    assert_eq!(
        names.iter().filter(|n| n.starts_with("matmul-part+sum")).count(),
        3,
        "{names:?}"
    );
}
