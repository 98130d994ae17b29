//! The expression language: per-element functions written as JS arrow functions
//! (`x => x.value * 2`) or Python lambdas (`lambda x: x['value'] * 2`), parsed into one
//! AST and evaluated with one semantics (docs/expressions.md). No free variables, no
//! loops, no I/O; every error points at its line and column with a caret line.

pub mod ast;
mod compile;
mod eval;
mod fast;
mod lexer;
mod parser;

pub use eval::{MAX_ITEMS, MAX_STEPS, MAX_STRING_BYTES};
pub use parser::MAX_DEPTH;

use crate::error::{Error, Result};
use crate::value::Value;
use ast::Pattern;
use std::borrow::Cow;
use std::sync::Arc;

/// Which front end reads a source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Js,
    Python,
    /// Python if the source starts with `lambda`, else JS.
    Auto,
}

impl Lang {
    pub fn detect(source: &str) -> Lang {
        let t = source.trim_start();
        let is_lambda = t.strip_prefix("lambda").is_some_and(|rest| {
            rest.chars()
                .next()
                .is_none_or(|c| !(c.is_alphanumeric() || c == '_'))
        });
        if is_lambda {
            Lang::Python
        } else {
            Lang::Js
        }
    }
}

struct Inner {
    source: String,
    lang: Lang,
    params: Vec<String>,
    patterns: Vec<Pattern>,
    slots: usize,
    body: ast::Expr,
    /// The body compiled to closures, which calls run (the interpreter is its fallback).
    compiled: Option<compile::Compiled>,
    /// The fast path for bodies of the common kind (fields, numbers, comparisons).
    fast: Option<fast::Fast>,
}

/// A parsed function; cheap to clone and safe to share between threads.
#[derive(Clone)]
pub struct Function {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Function {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Function({:?})", self.inner.source)
    }
}

impl serde::Serialize for Function {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.inner.source)
    }
}

/// `message at line:col` and the source line with a caret under the position.
pub fn caret_message(source: &str, at: usize, message: &str) -> String {
    let at = at.min(source.len());
    let before = source.get(..at).unwrap_or(source);
    let line_no = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    let col = source.get(line_start..at).map(|s| s.chars().count()).unwrap_or(0) + 1;
    let line = source
        .get(line_start..)
        .unwrap_or("")
        .lines()
        .next()
        .unwrap_or("");
    format!(
        "{message} at {line_no}:{col}\n  {line}\n  {}^",
        " ".repeat(col - 1)
    )
}

impl Function {
    /// Parses a function. Syntax errors and unknown names are `syntax` errors with the
    /// position and a caret line.
    pub fn parse(source: &str, lang: Lang) -> Result<Function> {
        let lang = if lang == Lang::Auto {
            Lang::detect(source)
        } else {
            lang
        };
        if source.len() > 64 * 1024 {
            return Err(Error::limit("a function's source may be at most 64 KiB"));
        }
        let parsed = parser::parse(source, lang)
            .map_err(|e| Error::syntax(caret_message(source, e.at, &e.message)))?;
        Ok(Function {
            inner: Arc::new(Inner {
                source: source.to_string(),
                lang: parsed.lang,
                params: parsed.params,
                patterns: parsed.patterns,
                slots: parsed.slots,
                compiled: compile::Compiled::new(&parsed.body),
                fast: fast::Fast::new(&parsed.body),
                body: parsed.body,
            }),
        })
    }

    pub fn source(&self) -> &str {
        &self.inner.source
    }
    pub fn lang(&self) -> Lang {
        self.inner.lang
    }
    pub fn params(&self) -> &[String] {
        &self.inner.params
    }
    pub fn arity(&self) -> usize {
        self.inner.patterns.len()
    }
    pub fn body(&self) -> &ast::Expr {
        &self.inner.body
    }
    /// How each parameter binds its argument (a name, or a destructuring pattern).
    pub fn patterns(&self) -> &[Pattern] {
        &self.inner.patterns
    }

    /// Calls the function. Runtime errors are `eval` errors (or `limit` errors) with the
    /// position of the failing part and a caret line.
    pub fn call(&self, args: &[Value]) -> Result<Value> {
        self.apply(args).map(Cow::into_owned)
    }

    /// Calls the function and returns its value borrowed where it can: `x => x.value`
    /// gives back a reference into `x` instead of a copy.
    pub fn apply<'a>(&'a self, args: &'a [Value]) -> Result<Cow<'a, Value>> {
        self.with_slots(args, |slots| {
            if let Some(v) = self.inner.fast.as_ref().and_then(|f| f.run(slots)) {
                return Ok(v);
            }
            self.general(slots)
        })
    }

    /// Binds the arguments to the parameters' slots (by reference; small functions keep
    /// their slots on the stack) and runs `body` on them.
    fn with_slots<'a, R>(
        &'a self,
        args: &'a [Value],
        body: impl FnOnce(&[&'a Value]) -> Result<R>,
    ) -> Result<R> {
        let inner = &*self.inner;
        if let ([Pattern::Name(0)], [arg], 1) = (inner.patterns.as_slice(), args, inner.slots) {
            // One parameter bound to one slot: the common case, without a slot array.
            return body(std::slice::from_ref(&arg));
        }
        if args.len() != inner.patterns.len() {
            return Err(Error::eval(format!(
                "the function {} takes {} argument{} but was called with {}",
                inner.source,
                inner.patterns.len(),
                if inner.patterns.len() == 1 { "" } else { "s" },
                args.len()
            )));
        }
        let mut stack: [&Value; 8] = [&NULL; 8];
        let mut heap: Vec<&Value>;
        let slots: &mut [&'a Value] = if inner.slots <= stack.len() {
            stack.get_mut(..inner.slots).unwrap_or_default()
        } else {
            heap = vec![&NULL; inner.slots];
            &mut heap
        };
        for (pattern, arg) in inner.patterns.iter().zip(args) {
            match pattern {
                Pattern::Name(i) => {
                    if let Some(s) = slots.get_mut(*i) {
                        *s = arg;
                    }
                }
                other => self.bind(other, arg, slots)?,
            }
        }
        body(slots)
    }

    /// The general path: the compiled closures (or the interpreter), with errors that
    /// point into the source.
    fn general<'a>(&'a self, slots: &[&'a Value]) -> Result<Cow<'a, Value>> {
        let inner = &*self.inner;
        let out = match &inner.compiled {
            Some(code) => code.run(slots),
            None => eval::eval(&inner.body, &mut eval::Env { slots, steps: 0 }),
        };
        out.map_err(|e| {
            let text = caret_message(&inner.source, e.span.start, &e.message);
            if e.limit {
                Error::limit(text)
            } else {
                Error::eval(text)
            }
        })
    }

    /// The fast path of a function of one plain parameter (`x => ...`), which then needs
    /// no slot binding.
    fn fast1(&self) -> Option<&fast::Fast> {
        match (&self.inner.fast, self.inner.patterns.as_slice(), self.inner.slots) {
            (Some(f), [Pattern::Name(0)], 1) => Some(f),
            _ => None,
        }
    }

    /// `each(x, f(x) is truthy)` for the items in order, as `test1` on each: the fast path
    /// is looked up once per loop, not per item. In wasm every call level between the
    /// loop and the predicate's closure costs about as much as the predicate.
    pub fn test_each<E: From<Error>>(
        &self,
        items: &[Value],
        mut each: impl FnMut(&Value, bool) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        let fast = self.fast1();
        for x in items {
            let t = match fast.and_then(|f| f.test(std::slice::from_ref(&x))) {
                Some(t) => t,
                None => self.test1(x)?,
            };
            each(x, t)?;
        }
        Ok(())
    }

    /// `each(f(x))` for the items in order, as `apply1` on each (borrowed where it can
    /// be), with the fast path looked up once per loop (see [`Function::test_each`]).
    pub fn apply_each<E: From<Error>>(
        &self,
        items: &[Value],
        mut each: impl FnMut(&Value) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        let fast = self.fast1();
        for x in items {
            match fast.and_then(|f| f.run(std::slice::from_ref(&x))) {
                Some(y) => each(&y)?,
                None => each(&*self.apply1(x)?)?,
            }
        }
        Ok(())
    }

    /// One argument, the value borrowed where it can be (see [`Function::apply`]).
    pub fn apply1<'a>(&'a self, a: &'a Value) -> Result<Cow<'a, Value>> {
        self.apply(std::slice::from_ref(a))
    }

    /// A predicate: whether the function's value for `a` is truthy.
    pub fn test1(&self, a: &Value) -> Result<bool> {
        self.with_slots(std::slice::from_ref(a), |slots| {
            if let Some(b) = self.inner.fast.as_ref().and_then(|f| f.test(slots)) {
                return Ok(b);
            }
            self.general(slots).map(|v| v.truthy())
        })
    }

    /// Calls the function without its fast path and its compiled closures: the
    /// interpreter alone, which tests compare the faster paths with.
    #[cfg(test)]
    pub(crate) fn call_interpreted(&self, args: &[Value]) -> Result<Value> {
        let inner = &*self.inner;
        self.with_slots(args, |slots| {
            eval::eval(&inner.body, &mut eval::Env { slots, steps: 0 })
                .map(Cow::into_owned)
                .map_err(|e| {
                    let text = caret_message(&inner.source, e.span.start, &e.message);
                    if e.limit {
                        Error::limit(text)
                    } else {
                        Error::eval(text)
                    }
                })
        })
    }

    /// Calls the function through its compiled closures, without the fast path.
    #[cfg(test)]
    pub(crate) fn call_compiled(&self, args: &[Value]) -> Result<Value> {
        self.with_slots(args, |slots| self.general(slots).map(Cow::into_owned))
    }

    fn bind<'a>(&self, pattern: &Pattern, arg: &'a Value, slots: &mut [&'a Value]) -> Result<()> {
        let put = |slots: &mut [&'a Value], i: usize, v: &'a Value| {
            if let Some(s) = slots.get_mut(i) {
                *s = v;
            }
        };
        match pattern {
            Pattern::Name(i) => put(slots, *i, arg),
            Pattern::List(names) => {
                let items = arg.as_list().ok_or_else(|| {
                    Error::eval(format!(
                        "{}: a list pattern needs a list argument, got {}",
                        self.source(),
                        arg.type_name()
                    ))
                })?;
                for (k, slot) in names.iter().enumerate() {
                    put(slots, *slot, items.get(k).unwrap_or(&NULL));
                }
            }
            Pattern::Record(fields) => {
                let rec = arg.as_record().ok_or_else(|| {
                    Error::eval(format!(
                        "{}: a record pattern needs a record argument, got {}",
                        self.source(),
                        arg.type_name()
                    ))
                })?;
                for (name, slot) in fields {
                    let v = rec
                        .iter()
                        .find(|(k, _)| &**k == name)
                        .map(|(_, v)| v)
                        .unwrap_or(&NULL);
                    put(slots, *slot, v);
                }
            }
        }
        Ok(())
    }

    pub fn call1(&self, a: &Value) -> Result<Value> {
        self.call(std::slice::from_ref(a))
    }
    pub fn call2(&self, a: &Value, b: &Value) -> Result<Value> {
        self.call(&[a.clone(), b.clone()])
    }
}

/// What a parameter holds when its pattern finds nothing.
static NULL: Value = Value::Null;

/// Calls a method by its Python name on a value, as Dask's `bag.str` accessor does
/// (`lower`, `split`, `replace`, ...).
pub fn call_method(name: &str, receiver: &Value, args: &[Value]) -> Result<Value> {
    let method = parser::resolve_method(name, Lang::Python).ok_or_else(|| {
        Error::value(format!(
            "unknown string method '{name}' (docs/expressions.md lists them)"
        ))
    })?;
    eval::call_method(method, name, receiver, args, ast::Span::new(0, 0)).map_err(|e| {
        if e.limit {
            Error::limit(e.message)
        } else {
            Error::eval(e.message)
        }
    })
}

#[cfg(test)]
mod tests;
