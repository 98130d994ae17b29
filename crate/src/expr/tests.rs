//! Expression language tests: values worked out by hand, in both front ends.

use super::*;
use crate::error::ErrorKind;
use proptest::prelude::*;

fn run(src: &str, args: &[Value]) -> Value {
    Function::parse(src, Lang::Auto)
        .unwrap_or_else(|e| panic!("{src}: {e}"))
        .call(args)
        .unwrap_or_else(|e| panic!("{src}: {e}"))
}

fn j(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

fn eval_err(src: &str, args: &[Value]) -> Error {
    Function::parse(src, Lang::Auto).unwrap().call(args).unwrap_err()
}

fn syntax_err(src: &str) -> Error {
    Function::parse(src, Lang::Auto).unwrap_err()
}

/// The same function in both front ends gives the same value.
fn both(js: &str, py: &str, args: &[Value], want: Value) {
    assert_eq!(run(js, args), want, "{js}");
    assert_eq!(run(py, args), want, "{py}");
}

#[test]
fn detects_the_front_end() {
    assert_eq!(Lang::detect("lambda x: x"), Lang::Python);
    assert_eq!(Lang::detect("  lambda: 1"), Lang::Python);
    assert_eq!(Lang::detect("x => x"), Lang::Js);
    assert_eq!(Lang::detect("lambdax => lambdax"), Lang::Js);
    assert_eq!(Function::parse("(a, b) => a", Lang::Auto).unwrap().arity(), 2);
    assert_eq!(Function::parse("lambda: 1", Lang::Auto).unwrap().arity(), 0);
    assert_eq!(Function::parse("() => 1", Lang::Auto).unwrap().arity(), 0);
}

#[test]
fn arithmetic_follows_python() {
    let x = Value::Int(7);
    both(
        "x => x * 2 + 1",
        "lambda x: x * 2 + 1",
        &[x.clone()],
        Value::Int(15),
    );
    both("x => x / 2", "lambda x: x / 2", &[x.clone()], Value::Float(3.5));
    both("x => x % 3", "lambda x: x % 3", &[x.clone()], Value::Int(1));
    both("x => -x % 3", "lambda x: -x % 3", &[x.clone()], Value::Int(2));
    both("x => x % -3", "lambda x: x % -3", &[x.clone()], Value::Int(-2));
    assert_eq!(run("lambda x: x // 2", &[x.clone()]), Value::Int(3));
    assert_eq!(run("lambda x: -x // 2", &[x.clone()]), Value::Int(-4));
    assert_eq!(run("lambda x: 7.5 // 2", &[x.clone()]), Value::Float(3.0));
    both("x => x ** 2", "lambda x: x ** 2", &[x.clone()], Value::Int(49));
    both(
        "x => 2 ** -1",
        "lambda x: 2 ** -1",
        &[x.clone()],
        Value::Float(0.5),
    );
    both(
        "x => 2 ** 3 ** 2",
        "lambda x: 2 ** 3 ** 2",
        &[x.clone()],
        Value::Int(512),
    );
    assert_eq!(run("lambda x: -2 ** 2", &[x.clone()]), Value::Int(-4));
    both(
        "x => x + 0.5",
        "lambda x: x + 0.5",
        &[x.clone()],
        Value::Float(7.5),
    );
    both(
        "x => (x + 1) * (x - 1)",
        "lambda x: (x + 1) * (x - 1)",
        &[x.clone()],
        Value::Int(48),
    );
    both(
        "x => 1e3 + .5",
        "lambda x: 1e3 + .5",
        &[x.clone()],
        Value::Float(1000.5),
    );
    both("x => true + 1", "lambda x: True + 1", &[x.clone()], Value::Int(2));
    both("x => 0x1f", "lambda x: 0x1f", &[x], Value::Int(31));
}

#[test]
fn strings_and_lists() {
    let s = Value::str("  Hello World ");
    both(
        "s => s.trim().toLowerCase()",
        "lambda s: s.strip().lower()",
        &[s.clone()],
        Value::str("hello world"),
    );
    both(
        "s => s.trim().split(' ')",
        "lambda s: s.split()",
        &[s.clone()],
        j(r#"["Hello","World"]"#),
    );
    assert_eq!(
        run("lambda s: s.split(' ', 1)", &[Value::str("a b c")]),
        j(r#"["a","b c"]"#)
    );
    assert_eq!(
        run("lambda s: s.split(None, 1)", &[Value::str(" a  b c")]),
        j(r#"["a","b c"]"#)
    );
    assert_eq!(
        run("lambda s: '-'.join(s.split())", &[s.clone()]),
        Value::str("Hello-World")
    );
    assert_eq!(
        run("s => s.split(',').join('+')", &[Value::str("a,b,c")]),
        Value::str("a+b+c")
    );
    assert_eq!(
        run("s => s.replace('a', 'x')", &[Value::str("banana")]),
        Value::str("bxnana")
    );
    assert_eq!(
        run("s => s.replaceAll('a', 'x')", &[Value::str("banana")]),
        Value::str("bxnxnx")
    );
    assert_eq!(
        run("lambda s: s.replace('a', 'x')", &[Value::str("banana")]),
        Value::str("bxnxnx")
    );
    both(
        "s => s.startsWith('ba')",
        "lambda s: s.startswith('ba')",
        &[Value::str("banana")],
        Value::Bool(true),
    );
    both(
        "s => s.endsWith('na')",
        "lambda s: s.endswith('na')",
        &[Value::str("banana")],
        Value::Bool(true),
    );
    both(
        "s => s.includes('nan')",
        "lambda s: 'nan' in s",
        &[Value::str("banana")],
        Value::Bool(true),
    );
    both(
        "s => s.slice(1, 3)",
        "lambda s: s[1:3]",
        &[Value::str("héllo")],
        Value::str("él"),
    );
    both(
        "s => s.slice(-3)",
        "lambda s: s[-3:]",
        &[Value::str("héllo")],
        Value::str("llo"),
    );
    assert_eq!(run("lambda s: s[::-1]", &[Value::str("abc")]), Value::str("cba"));
    both(
        "s => s[0]",
        "lambda s: s[0]",
        &[Value::str("ü!")],
        Value::str("ü"),
    );
    both(
        "s => s.length",
        "lambda s: len(s)",
        &[Value::str("ü!")],
        Value::Int(2),
    );
    both(
        "s => s + '!'",
        "lambda s: s + '!'",
        &[Value::str("hi")],
        Value::str("hi!"),
    );
    both(
        "s => s * 3",
        "lambda s: s * 3",
        &[Value::str("ab")],
        Value::str("ababab"),
    );
    assert_eq!(
        run("lambda s: s.title()", &[Value::str("hello wORLD")]),
        Value::str("Hello World")
    );
    assert_eq!(
        run("lambda s: s.capitalize()", &[Value::str("hello wORLD")]),
        Value::str("Hello world")
    );
    assert_eq!(
        run("lambda s: s.find('l')", &[Value::str("hello")]),
        Value::Int(2)
    );
    assert_eq!(run("s => s.indexOf('z')", &[Value::str("hello")]), Value::Int(-1));
    assert_eq!(
        run("lambda s: s.count('l')", &[Value::str("hello")]),
        Value::Int(2)
    );
    assert_eq!(
        run("s => s.padStart(5, '0')", &[Value::str("42")]),
        Value::str("00042")
    );
    let xs = j("[3, 1, 2]");
    both(
        "xs => xs.length",
        "lambda xs: len(xs)",
        &[xs.clone()],
        Value::Int(3),
    );
    both(
        "xs => xs.includes(2)",
        "lambda xs: 2 in xs",
        &[xs.clone()],
        Value::Bool(true),
    );
    both(
        "xs => xs.slice(1)",
        "lambda xs: xs[1:]",
        &[xs.clone()],
        j("[1, 2]"),
    );
    both(
        "xs => xs[xs.length - 1]",
        "lambda xs: xs[-1]",
        &[xs.clone()],
        Value::Int(2),
    );
    both(
        "xs => xs.concat([4])",
        "lambda xs: xs + [4]",
        &[xs.clone()],
        j("[3, 1, 2, 4]"),
    );
    both(
        "xs => sorted(xs)",
        "lambda xs: sorted(xs)",
        &[xs.clone()],
        j("[1, 2, 3]"),
    );
    both(
        "xs => sum(xs) / len(xs)",
        "lambda xs: sum(xs) / len(xs)",
        &[xs.clone()],
        Value::Float(2.0),
    );
    both(
        "xs => [xs[0], xs[1]]",
        "lambda xs: (xs[0], xs[1])",
        &[xs.clone()],
        j("[3, 1]"),
    );
    assert_eq!(run("xs => xs.join('-')", &[xs]), Value::str("3-1-2"));
}

#[test]
fn records_and_dicts() {
    let r = j(r#"{"name": "Ada", "value": 3, "tags": ["x"]}"#);
    both(
        "r => r.value * 2",
        "lambda r: r['value'] * 2",
        &[r.clone()],
        Value::Int(6),
    );
    both(
        "r => r['name']",
        "lambda r: r['name']",
        &[r.clone()],
        Value::str("Ada"),
    );
    both(
        "r => ({n: r.name, v: r.value})",
        "lambda r: {'n': r['name'], 'v': r['value']}",
        &[r.clone()],
        j(r#"{"n":"Ada","v":3}"#),
    );
    both(
        "r => 'value' in r",
        "lambda r: 'value' in r",
        &[r.clone()],
        Value::Bool(true),
    );
    both(
        "r => r.tags[0]",
        "lambda r: r['tags'][0]",
        &[r.clone()],
        Value::str("x"),
    );
    assert_eq!(run("lambda r: r.get('missing', 0)", &[r.clone()]), Value::Int(0));
    assert_eq!(
        run("lambda r: list(r.keys())", &[r.clone()]),
        j(r#"["name","value","tags"]"#)
    );
    assert_eq!(run("r => Object.keys(r).length", &[r.clone()]), Value::Int(3));
    assert_eq!(run("r => r?.missing?.deeper", &[r.clone()]), Value::Null);
    assert_eq!(
        run("r => r.missing ?? 'none'", &[j(r#"{"missing": null}"#)]),
        Value::str("none")
    );
    assert_eq!(
        run(
            "({name, value}) => name + value",
            &[j(r#"{"name": "a", "value": "b"}"#)]
        ),
        Value::str("ab")
    );
    assert_eq!(run("([k, v]) => v", &[j(r#"["A", 2]"#)]), Value::Int(2));
    assert_eq!(
        run("r => ({name: r.name, value: r.value}).name", &[r]),
        Value::str("Ada")
    );
    assert_eq!(run("x => ({x})", &[Value::Int(1)]), j(r#"{"x":1}"#));
}

#[test]
fn comparisons_logic_and_conditionals() {
    let x = Value::Int(5);
    both(
        "x => x > 3 && x < 10",
        "lambda x: x > 3 and x < 10",
        &[x.clone()],
        Value::Bool(true),
    );
    assert_eq!(run("lambda x: 3 < x < 10", &[x.clone()]), Value::Bool(true));
    assert_eq!(run("lambda x: 3 < x < 4", &[x.clone()]), Value::Bool(false));
    both(
        "x => x === 5",
        "lambda x: x == 5",
        &[x.clone()],
        Value::Bool(true),
    );
    both(
        "x => x !== 5.0",
        "lambda x: x != 5.0",
        &[x.clone()],
        Value::Bool(false),
    );
    both(
        "x => x > 3 ? 'big' : 'small'",
        "lambda x: 'big' if x > 3 else 'small'",
        &[x.clone()],
        Value::str("big"),
    );
    both(
        "x => !(x > 3)",
        "lambda x: not x > 3",
        &[x.clone()],
        Value::Bool(false),
    );
    both(
        "x => x || 'default'",
        "lambda x: x or 'default'",
        &[Value::Int(0)],
        Value::str("default"),
    );
    both(
        "x => x && 'yes'",
        "lambda x: x and 'yes'",
        &[Value::Int(0)],
        Value::Int(0),
    );
    assert_eq!(run("lambda x: x is None", &[Value::Null]), Value::Bool(true));
    assert_eq!(run("lambda x: x is not None", &[Value::Null]), Value::Bool(false));
    assert_eq!(run("lambda x: x not in [1, 2]", &[x.clone()]), Value::Bool(true));
    both(
        "(a, b) => a == b",
        "lambda a, b: a == b",
        &[j("[1, [2]]"), j("[1, [2]]")],
        Value::Bool(true),
    );
    both(
        "(a, b) => a < b",
        "lambda a, b: a < b",
        &[Value::str("apple"), Value::str("banana")],
        Value::Bool(true),
    );
    both(
        "x => x == 'a'",
        "lambda x: x == 'a'",
        &[Value::Int(1)],
        Value::Bool(false),
    );
}

#[test]
fn library_functions() {
    let x = Value::Float(2.5);
    both(
        "x => Math.floor(x)",
        "lambda x: math.floor(x)",
        &[x.clone()],
        Value::Int(2),
    );
    both(
        "x => Math.ceil(x)",
        "lambda x: math.ceil(x)",
        &[x.clone()],
        Value::Int(3),
    );
    both(
        "x => floor(x) + ceil(x)",
        "lambda x: floor(x) + ceil(x)",
        &[x.clone()],
        Value::Int(5),
    );
    assert_eq!(run("lambda x: round(x)", &[x.clone()]), Value::Int(2));
    assert_eq!(run("lambda x: round(3.5)", &[x.clone()]), Value::Int(4));
    assert_eq!(run("lambda x: round(2.675, 1)", &[x.clone()]), Value::Float(2.7));
    assert_eq!(run("x => Math.round(x)", &[x.clone()]), Value::Int(3));
    both(
        "x => Math.sqrt(16)",
        "lambda x: sqrt(16)",
        &[x.clone()],
        Value::Float(4.0),
    );
    both(
        "x => Math.abs(-3)",
        "lambda x: abs(-3)",
        &[x.clone()],
        Value::Int(3),
    );
    both(
        "x => Math.max(1, 7, 3)",
        "lambda x: max(1, 7, 3)",
        &[x.clone()],
        Value::Int(7),
    );
    both(
        "x => min([4, 2, 8])",
        "lambda x: min([4, 2, 8])",
        &[x.clone()],
        Value::Int(2),
    );
    both(
        "x => log(Math.E)",
        "lambda x: log(math.e)",
        &[x.clone()],
        Value::Float(1.0),
    );
    assert_eq!(run("lambda x: log(8, 2)", &[x.clone()]), Value::Float(3.0));
    both("x => exp(0)", "lambda x: exp(0)", &[x.clone()], Value::Float(1.0));
    both(
        "x => String(42)",
        "lambda x: str(42)",
        &[x.clone()],
        Value::str("42"),
    );
    both("x => str(x)", "lambda x: str(x)", &[x.clone()], Value::str("2.5"));
    assert_eq!(run("lambda x: str(2.0)", &[x.clone()]), Value::str("2.0"));
    assert_eq!(run("lambda x: str(None)", &[x.clone()]), Value::str("None"));
    both(
        "x => int('12') + 1",
        "lambda x: int('12') + 1",
        &[x.clone()],
        Value::Int(13),
    );
    both(
        "x => int(x)",
        "lambda x: int(x)",
        &[Value::Float(-2.7)],
        Value::Int(-2),
    );
    both(
        "x => float('1.5')",
        "lambda x: float('1.5')",
        &[x.clone()],
        Value::Float(1.5),
    );
    assert_eq!(run("x => Number('7')", &[x.clone()]), Value::Int(7));
    assert_eq!(run("x => parseInt('42px')", &[x.clone()]), Value::Int(42));
    assert_eq!(run("x => parseFloat('3.25kg')", &[x.clone()]), Value::Float(3.25));
    assert_eq!(run("lambda x: list(range(3))", &[x.clone()]), j("[0, 1, 2]"));
    assert_eq!(
        run("lambda x: range(10, 0, -3)", &[x.clone()]),
        j("[10, 7, 4, 1]")
    );
    assert_eq!(run("x => Array.isArray([1])", &[x.clone()]), Value::Bool(true));
    assert_eq!(run("x => (3.14159).toFixed(2)", &[x]), Value::str("3.14"));
}

#[test]
fn block_bodies_comments_and_calls() {
    assert_eq!(run("x => { return x * 2; }", &[Value::Int(4)]), Value::Int(8));
    assert_eq!(run("x => x + 1 // add one", &[Value::Int(4)]), Value::Int(5));
    assert_eq!(run("lambda x: x + 1  # add one", &[Value::Int(4)]), Value::Int(5));
    assert_eq!(
        run("(a, b) => a + b", &[Value::Int(1), Value::Int(2)]),
        Value::Int(3)
    );
    let f = Function::parse("lambda a, b: a * b", Lang::Auto).unwrap();
    assert_eq!(f.call2(&Value::Int(3), &Value::Int(4)).unwrap(), Value::Int(12));
    assert_eq!(f.params(), &["a".to_string(), "b".to_string()]);
    assert_eq!(f.lang(), Lang::Python);
    assert_eq!(serde_json::to_string(&f).unwrap(), "\"lambda a, b: a * b\"");
    let err = f.call(&[Value::Int(1)]).unwrap_err();
    assert!(
        err.message.contains("takes 2 arguments but was called with 1"),
        "{}",
        err.message
    );
}

#[test]
fn syntax_errors_have_positions_and_carets() {
    let e = syntax_err("x => x +* 2");
    assert_eq!(e.kind, ErrorKind::Syntax);
    assert_eq!(
        e.message,
        "expected an expression, found '*' at 1:9\n  x => x +* 2\n          ^"
    );
    let e = syntax_err("x => x + y");
    assert_eq!(
        e.message,
        "unknown name 'y'; the function's parameters are: x at 1:10\n  x => x + y\n           ^"
    );
    let e = syntax_err("lambda x: x +");
    assert!(
        e.message
            .starts_with("expected an expression, found the end of the source at 1:14"),
        "{}",
        e.message
    );
    let e = syntax_err("x => (x");
    assert!(
        e.message.contains("expected ')' to close the parenthesis"),
        "{}",
        e.message
    );
    let e = syntax_err("x => 'abc");
    assert!(
        e.message.starts_with("unterminated string at 1:6"),
        "{}",
        e.message
    );
    let e = syntax_err("x => x.frobnicate()");
    assert!(e.message.contains("unknown method 'frobnicate'"), "{}", e.message);
    let e = syntax_err("x => foo(x)");
    assert!(e.message.contains("unknown name 'foo'"), "{}", e.message);
    let e = syntax_err("lambda x: [y for y in x]");
    assert!(
        e.message.contains("comprehensions are not supported"),
        "{}",
        e.message
    );
    let e = syntax_err("function (x) { return x }");
    assert!(e.message.contains("use an arrow function"), "{}", e.message);
    let e = syntax_err("x => {\n  return x +\n}");
    assert!(e.message.contains("at 3:1"), "{}", e.message);
    let e = syntax_err("(x, x) => x");
    assert!(e.message.contains("appears twice"), "{}", e.message);
    let e = syntax_err("x => len");
    assert!(e.message.contains("library function: call it"), "{}", e.message);
}

#[test]
fn runtime_errors_have_positions_and_carets() {
    let e = eval_err("x => x + \"a\"", &[Value::Int(1)]);
    assert_eq!(e.kind, ErrorKind::Eval);
    assert_eq!(
        e.message,
        "unsupported operand types for +: 'int' and 'str' at 1:8\n  x => x + \"a\"\n         ^"
    );
    let e = eval_err("lambda x: x / 0", &[Value::Int(1)]);
    assert!(e.message.starts_with("division by zero at 1:13"), "{}", e.message);
    let e = eval_err("lambda x: x // 0", &[Value::Int(1)]);
    assert!(e.message.starts_with("division by zero"), "{}", e.message);
    let e = eval_err("x => x % 0", &[Value::Int(1)]);
    assert!(e.message.starts_with("modulo by zero"), "{}", e.message);
    let e = eval_err("x => x * x", &[Value::Int(i64::MAX)]);
    assert!(e.message.starts_with("integer overflow in *"), "{}", e.message);
    let e = eval_err("x => x.missing", &[j(r#"{"a": 1}"#)]);
    assert!(
        e.message
            .starts_with("the record has no field 'missing' (its fields: a)"),
        "{}",
        e.message
    );
    let e = eval_err("x => x[5]", &[j("[1, 2]")]);
    assert!(
        e.message
            .starts_with("list index 5 is out of range for a list of 2 items"),
        "{}",
        e.message
    );
    let e = eval_err("x => x < 'a'", &[Value::Int(1)]);
    assert!(
        e.message.starts_with("'<' is not supported between int and str"),
        "{}",
        e.message
    );
    let e = eval_err("x => x.lower()", &[Value::Int(1)]);
    assert!(
        e.message.starts_with("an int has no method 'lower'"),
        "{}",
        e.message
    );
    let e = eval_err("x => x.name", &[Value::Int(1)]);
    assert!(
        e.message.starts_with("cannot read field 'name' of an int 1"),
        "{}",
        e.message
    );
    let e = eval_err("lambda x: sqrt(x)", &[Value::Int(-1)]);
    assert!(
        e.message.starts_with("sqrt() of a negative number"),
        "{}",
        e.message
    );
    let e = eval_err("lambda x: int('x1')", &[Value::Int(-1)]);
    assert!(
        e.message.starts_with("int(): invalid literal \"x1\""),
        "{}",
        e.message
    );
    let e = eval_err("lambda x: max([])", &[Value::Int(-1)]);
    assert!(
        e.message.starts_with("max() of an empty sequence"),
        "{}",
        e.message
    );
    let e = eval_err("([a, b]) => a", &[Value::Int(1)]);
    assert!(
        e.message
            .contains("a list pattern needs a list argument, got int"),
        "{}",
        e.message
    );
}

#[test]
fn limits_are_errors_not_crashes() {
    let e = eval_err("x => 'ab' * x", &[Value::Int(100_000_000)]);
    assert_eq!(e.kind, ErrorKind::Limit);
    let e = eval_err("x => [1] * x", &[Value::Int(10_000_000)]);
    assert_eq!(e.kind, ErrorKind::Limit);
    let e = eval_err("lambda x: range(x)", &[Value::Int(10_000_000)]);
    assert_eq!(e.kind, ErrorKind::Limit);
    // Deep nesting is refused at parse time, before it can exhaust the stack.
    let deep = format!("x => {}x{}", "(".repeat(30_000), ")".repeat(30_000));
    assert_eq!(syntax_err(&deep).kind, ErrorKind::Syntax);
    let negs = format!("x => {}x", "-".repeat(60_000));
    assert!(syntax_err(&negs).message.contains("nests deeper"));
    let nots = format!("lambda x: {}x", "not ".repeat(15_000));
    assert!(syntax_err(&nots).message.contains("nests deeper"));
    let lists = format!("x => {}x{}", "[".repeat(30_000), "]".repeat(30_000));
    assert!(syntax_err(&lists).message.contains("nests deeper"));
    let members = format!("x => x{}", ".a".repeat(30_000));
    // Longer than the source limit: refused as a limit.
    let huge = format!("x => {}x{}", "(".repeat(100_000), ")".repeat(100_000));
    assert_eq!(syntax_err(&huge).kind, ErrorKind::Limit);
    assert!(syntax_err(&members).message.contains("nests deeper"));
    // A long flat chain is fine: it does not nest.
    let chain = format!("x => x{}", " + 1".repeat(50));
    assert_eq!(run(&chain, &[Value::Int(0)]), Value::Int(50));
    // A very long chain nests the tree as deeply as parentheses would.
    let long = format!("x => x{}", " + 1".repeat(10_000));
    assert!(syntax_err(&long).message.contains("nests deeper"));
    let ors = format!("lambda x: x{}", " or x".repeat(10_000));
    assert!(syntax_err(&ors).message.contains("nests deeper"));
}

#[test]
fn shared_between_threads() {
    let f = Function::parse("x => x * 2", Lang::Auto).unwrap();
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let f = f.clone();
            std::thread::spawn(move || {
                (0..1000)
                    .map(|k| f.call1(&Value::Int(i * 1000 + k)).unwrap())
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    for (i, h) in handles.into_iter().enumerate() {
        let out = h.join().unwrap();
        assert_eq!(out[10], Value::Int((i as i64 * 1000 + 10) * 2));
    }
}

const SAMPLES: &[&str] = &[
    "x => x.value * 2",
    "(a, b) => a + b",
    "lambda x: x['value'] * 2 if x else None",
    "x => x > 3 ? Math.floor(x / 2) : [x, {a: x}]",
    "lambda s: s.strip().lower().split(',')[0]",
    "([k, v]) => k + ':' + String(v)",
    "lambda a, b: (a or b) and not a in [1, 2, 3]",
];

fn any_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::Int),
        any::<f64>().prop_map(Value::Float),
        ".{0,8}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::list),
            prop::collection::vec(("[a-z]{1,5}", inner), 0..4).prop_map(|f| Value::record(f)),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn random_sources_never_panic(src in ".{0,80}") {
        let _ = Function::parse(&src, Lang::Auto);
        let _ = Function::parse(&src, Lang::Js);
        let _ = Function::parse(&src, Lang::Python);
    }

    #[test]
    fn mutated_sources_never_panic(which in 0usize..7, cut in 0usize..60, pos in 0usize..60, ch in any::<char>()) {
        let base = SAMPLES[which % SAMPLES.len()];
        let mut chars: Vec<char> = base.chars().collect();
        chars.truncate(cut.min(chars.len()).max(1));
        let p = pos % chars.len();
        chars[p] = ch;
        let src: String = chars.into_iter().collect();
        if let Ok(f) = Function::parse(&src, Lang::Auto) {
            let args = vec![Value::Int(3); f.arity()];
            let _ = f.call(&args);
        }
    }

    #[test]
    fn random_arguments_never_panic(which in 0usize..7, a in any_value(), b in any_value()) {
        let f = Function::parse(SAMPLES[which], Lang::Auto).unwrap();
        let args: Vec<Value> = [a, b].into_iter().take(f.arity()).collect();
        let _ = f.call(&args);
    }

    #[test]
    fn arithmetic_never_panics(x in any::<i64>(), y in any::<i64>(), op in 0usize..7) {
        let ops = ["+", "-", "*", "/", "%", "**", "//"];
        let src = format!("lambda a, b: a {} b", ops[op]);
        let f = Function::parse(&src, Lang::Auto).unwrap();
        let _ = f.call(&[Value::Int(x), Value::Int(y)]);
        let _ = f.call(&[Value::Float(x as f64), Value::Int(y)]);
    }
}

/// Every way to call `f` on `args` gives the same value (the same type too: `1` is not
/// `1.0` here) or the same error: the fast path, the compiled closures, the interpreter,
/// and the predicate form.
fn agree(f: &Function, args: &[Value]) {
    let show = |r: &Result<Value>| match r {
        Ok(v) => format!("Ok({} {v:?})", v.type_name()),
        Err(e) => format!("Err({e:?})"),
    };
    let interpreted = f.call_interpreted(args);
    let want = show(&interpreted);
    let ctx = format!("{} on {args:?}", f.source());
    assert_eq!(show(&f.call(args)), want, "call: {ctx}");
    assert_eq!(show(&f.call_compiled(args)), want, "compiled: {ctx}");
    assert_eq!(
        show(&f.apply(args).map(std::borrow::Cow::into_owned)),
        want,
        "apply: {ctx}"
    );
    if let [a] = args {
        let test = f.test1(a);
        match &interpreted {
            Ok(v) => assert_eq!(test.as_ref().ok(), Some(&v.truthy()), "test1: {ctx}"),
            Err(e) => assert_eq!(test.as_ref().err(), Some(e), "test1: {ctx}"),
        }
        let mut tested = Vec::new();
        let looped = f.test_each(args, |_, t| {
            tested.push(t);
            Ok::<(), Error>(())
        });
        let mut applied = Vec::new();
        let mapped = f.apply_each(args, |y| {
            applied.push(y.clone());
            Ok::<(), Error>(())
        });
        match &interpreted {
            Ok(v) => {
                assert_eq!(
                    (looped.ok(), tested),
                    (Some(()), vec![v.truthy()]),
                    "test_each: {ctx}"
                );
                let got = show(&mapped.map(|()| applied.pop().unwrap_or(Value::str("nothing"))));
                assert_eq!(got, want, "apply_each: {ctx}");
            }
            Err(e) => {
                assert_eq!(looped.err().as_ref(), Some(e), "test_each: {ctx}");
                assert_eq!(mapped.err().as_ref(), Some(e), "apply_each: {ctx}");
            }
        }
    }
}

/// A loop over many items (`test_each`, `apply_each`) gives what one call per item gives,
/// item by item, and stops at the same item with the same error.
#[test]
fn loops_over_items_match_one_call_per_item() {
    let args = path_args();
    for src in PATH_SOURCES {
        let f = Function::parse(src, Lang::Auto).unwrap_or_else(|e| panic!("{src}: {e}"));
        if f.arity() != 1 {
            continue;
        }
        let mut want_tests = Vec::new();
        let mut want_values = Vec::new();
        let mut want_test_err = None;
        let mut want_value_err = None;
        for a in &args {
            match f.test1(a) {
                Ok(t) if want_test_err.is_none() => want_tests.push(t),
                Err(e) if want_test_err.is_none() => want_test_err = Some(e),
                _ => {}
            }
            match f.call1(a) {
                Ok(v) if want_value_err.is_none() => want_values.push(format!("{v:?}")),
                Err(e) if want_value_err.is_none() => want_value_err = Some(e),
                _ => {}
            }
        }
        let (mut tests, mut values) = (Vec::new(), Vec::new());
        let test_err = f
            .test_each(&args, |_, t| {
                tests.push(t);
                Ok::<(), Error>(())
            })
            .err();
        let value_err = f
            .apply_each(&args, |y| {
                values.push(format!("{y:?}"));
                Ok::<(), Error>(())
            })
            .err();
        assert_eq!((tests, test_err), (want_tests, want_test_err), "test_each: {src}");
        assert_eq!(
            (values, value_err),
            (want_values, want_value_err),
            "apply_each: {src}"
        );
    }
    // The loop's own error (from `each`) stops it where it is raised.
    let f = Function::parse("x => x.value % 7 == 0", Lang::Auto).unwrap();
    let mut seen = 0;
    let stopped = f.test_each(&args, |_, _| {
        seen += 1;
        if seen == 3 {
            Err(Error::value("third item"))
        } else {
            Ok(())
        }
    });
    assert_eq!(
        (seen, stopped.err().map(|e| e.message)),
        (3, Some("third item".to_string()))
    );
}

const PATH_SOURCES: &[&str] = &[
    "x => x",
    "x => x.value",
    "lambda x: x['value']",
    "x => x.value % 7 == 0",
    "lambda x: x['value'] % 7 == 0",
    "x => x.value % 7 != 1",
    "x => x.value * 3 >= -4",
    "x => x.value // 0 == 1",
    "x => x.value / 2 == 7",
    "x => x.value ** 2 < 100",
    "x => x.value + 1 > 9223372036854775807",
    "x => x.value - 1 in 5",
    "x => x.value % 7 == 0.0",
    "lambda x: x['value'] & 1 is 0",
    "x => x.value % -7",
    "x => -x.value % 7",
    "x => x.value % 1",
    "x => x.value % 1000 == 999",
    "x => x.value % 4294967295",
    "x => x.value % 4294967296 != 0",
    "x => x.value // 2",
    "x => x.value / 2",
    "x => x.value * 2 + 1",
    "x => x.value - 1 < 0",
    "x => x.value ** 2",
    "x => x.value ** -1",
    "lambda x: x['value'] & 1",
    "lambda x: x['value'] | 2",
    "x => x.value + x.value",
    "x => x.value * x.value",
    "x => x.value % x.value",
    "x => x.value == 1",
    "x => x.value != 1",
    "x => x.value >= 1.5",
    "x => x.value < x.name",
    "x => x.name == 'A'",
    "x => x.name != 'A'",
    "lambda x: x['value'] % 7 == 0 and x['name'] != 'A'",
    "lambda x: x['value'] > 3 or x['name']",
    "lambda x: not x['value']",
    "lambda x: 1 < x['value'] < 10",
    "lambda x: 1 < x['value'] <= x['value'] < 1000",
    "lambda x: x['value'] if x['value'] > 2 else -x['value']",
    "x => x.value ?? 5",
    "x => x?.value",
    "x => x.missing",
    "x => x?.missing",
    "x => x.value.inner",
    "x => x.nested.a + 1",
    "lambda x: x['nested']['a'] * 2",
    "x => x[0] + x[-1]",
    "x => x[5]",
    "x => x.items[1] > 2",
    "x => x.length",
    "x => x.name.length",
    "x => +x.value",
    "lambda x: ~x['value']",
    "x => x.value in [1, 2, 3]",
    "lambda x: x['value'] is 1",
    "x => x.value === 1",
    "lambda x: x['flag'] & True",
    "x => x.flag + 1",
    "x => x.value ? 'yes' : 'no'",
    "x => 3",
    "x => 2.5 * 2",
    "x => null",
    "({value}) => value % 2",
    "([a, b]) => a + b",
    "(a, b) => a.value + b",
    "(a, b) => a < b",
];

fn path_args() -> Vec<Value> {
    let rec = |v: Value| {
        Value::record([
            ("name", Value::str("B")),
            ("value", v),
            ("nested", Value::record([("a", Value::Int(4))])),
            ("items", Value::list(vec![Value::Int(1), Value::Int(5)])),
            ("flag", Value::Bool(true)),
        ])
    };
    vec![
        rec(Value::Int(14)),
        rec(Value::Int(-15)),
        rec(Value::Int(0)),
        rec(Value::Int(1)),
        rec(Value::Int(i64::MAX)),
        rec(Value::Int(i64::MIN)),
        rec(Value::Int(4_294_967_295)),
        rec(Value::Int(4_294_967_296)),
        rec(Value::Int(123_456_789)),
        rec(Value::Float(14.0)),
        rec(Value::Float(-2.5)),
        rec(Value::Float(0.0)),
        rec(Value::Float(f64::NAN)),
        rec(Value::Float(f64::INFINITY)),
        rec(Value::Bool(true)),
        rec(Value::Bool(false)),
        rec(Value::Null),
        rec(Value::str("A")),
        rec(Value::list(vec![Value::Int(1)])),
        rec(Value::record([("inner", Value::Int(2))])),
        Value::record([("name", Value::str("A"))]),
        Value::record::<&str>([]),
        Value::Null,
        Value::Int(3),
        Value::Float(0.5),
        Value::str("text"),
        Value::list(vec![Value::Int(2), Value::Int(9)]),
        Value::list(vec![]),
    ]
}

#[test]
fn fast_and_compiled_paths_agree_with_the_interpreter() {
    let args = path_args();
    for src in PATH_SOURCES {
        let f = Function::parse(src, Lang::Auto).unwrap_or_else(|e| panic!("{src}: {e}"));
        for a in &args {
            match f.arity() {
                1 => agree(&f, std::slice::from_ref(a)),
                2 => {
                    for b in args.iter().take(8) {
                        agree(&f, &[a.clone(), b.clone()]);
                    }
                }
                _ => agree(&f, &[]),
            }
        }
    }
}

#[test]
fn fast_path_borrows_fields() {
    let f = Function::parse("x => x.name", Lang::Auto).unwrap();
    let row = Value::record([("name", Value::str("a long enough name"))]);
    let args = [row];
    assert!(matches!(f.apply(&args), Ok(std::borrow::Cow::Borrowed(_))));
    let f = Function::parse("x => x.value % 7 == 0", Lang::Auto).unwrap();
    let neg = Value::record([("value", Value::Int(-7))]);
    assert!(f.test1(&neg).unwrap());
    // Python's modulo takes the divisor's sign.
    let f = Function::parse("lambda x: x['value'] % 7", Lang::Auto).unwrap();
    assert_eq!(f.call1(&neg).unwrap(), Value::Int(0));
    let neg = Value::record([("value", Value::Int(-8))]);
    assert_eq!(f.call1(&neg).unwrap(), Value::Int(6));
    let f = Function::parse("x => x.value % -7", Lang::Auto).unwrap();
    assert_eq!(
        f.call1(&Value::record([("value", Value::Int(8))])).unwrap(),
        Value::Int(-6)
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn paths_agree_on_random_values(which in 0usize..58, v in any_value(), w in any_value()) {
        let src = PATH_SOURCES[which % PATH_SOURCES.len()];
        let f = Function::parse(src, Lang::Auto).unwrap();
        let rec = Value::record([("value", v.clone()), ("name", w.clone())]);
        match f.arity() {
            1 => {
                agree(&f, std::slice::from_ref(&rec));
                agree(&f, std::slice::from_ref(&v));
            }
            2 => agree(&f, &[rec, w]),
            _ => agree(&f, &[]),
        }
    }

    #[test]
    fn int_arithmetic_paths_agree(x in any::<i64>(), y in prop_oneof![any::<i64>(), -10i64..10], op in 0usize..9) {
        let ops = ["+", "-", "*", "/", "%", "**", "//", "&", "|"];
        let rec = Value::record([("a", Value::Int(x)), ("b", Value::Int(y))]);
        for src in [
            format!("lambda x: x['a'] {} x['b']", ops[op]),
            format!("lambda x: x['a'] {} {y}", ops[op]),
            format!("lambda x: (x['a'] {} x['b']) == 0", ops[op]),
            format!("lambda x: x['a'] {} {y} < 3", ops[op]),
        ] {
            let f = Function::parse(&src, Lang::Auto).unwrap();
            agree(&f, std::slice::from_ref(&rec));
        }
    }
}
