//! The two front ends: JS arrow functions and Python lambdas, parsed by precedence
//! climbing into the one AST. Names are resolved here: parameters become slots, library
//! functions and methods become enum variants, and any other name is refused with its
//! position (no free variables).

use super::ast::{BinaryOp, Builtin, CompareOp, Expr, LogicalOp, Method, Pattern, Span, UnaryOp};
use super::lexer::{lex, Tok, Token};
use super::Lang;
use crate::value::Value;

/// How deep expressions may nest; deeper input is refused before it can exhaust the stack.
pub const MAX_DEPTH: usize = 100;

/// What the parser produces.
pub struct Parsed {
    pub lang: Lang,
    pub params: Vec<String>,
    pub patterns: Vec<Pattern>,
    pub slots: usize,
    pub body: Expr,
}

/// A parse error: message and byte position.
pub struct ParseError {
    pub message: String,
    pub at: usize,
}

type PResult<T> = Result<T, ParseError>;

pub fn parse(src: &str, lang: Lang) -> PResult<Parsed> {
    let toks = lex(src, lang).map_err(|e| ParseError {
        message: e.message,
        at: e.at,
    })?;
    let mut p = Parser {
        toks,
        pos: 0,
        lang,
        slots: Vec::new(),
        depth: 0,
    };
    let (params, patterns) = match lang {
        Lang::Python => p.python_header()?,
        _ => p.js_header()?,
    };
    let body = if lang != Lang::Python && p.is_op("{") {
        p.js_block()?
    } else {
        p.expr()?
    };
    if lang != Lang::Python {
        while p.is_op(";") {
            p.pos += 1;
        }
    }
    if !matches!(p.peek().tok, Tok::Eof) {
        return Err(p.unexpected("the end of the function"));
    }
    let slots = p.slots.len();
    Ok(Parsed {
        lang,
        params,
        patterns,
        slots,
        body,
    })
}

struct Parser {
    toks: Vec<Token>,
    pos: usize,
    lang: Lang,
    /// Names bound to slots, by slot.
    slots: Vec<String>,
    depth: usize,
}

const PY_KEYWORDS: &[&str] = &[
    "lambda", "and", "or", "not", "in", "is", "if", "else", "True", "False", "None", "for", "while", "def",
    "return", "import", "yield", "await", "async", "del", "global", "nonlocal", "with", "class", "try",
    "pass",
];
const JS_KEYWORDS: &[&str] = &[
    "true",
    "false",
    "null",
    "undefined",
    "return",
    "function",
    "var",
    "let",
    "const",
    "new",
    "this",
    "typeof",
    "in",
    "for",
    "while",
    "do",
    "if",
    "else",
    "class",
    "delete",
    "void",
    "yield",
    "await",
    "async",
    "import",
];

impl Parser {
    fn peek(&self) -> &Token {
        static EOF: Token = Token {
            tok: Tok::Eof,
            span: Span { start: 0, end: 0 },
        };
        self.toks
            .get(self.pos)
            .or_else(|| self.toks.last())
            .unwrap_or(&EOF)
    }
    fn peek_at(&self, n: usize) -> &Tok {
        self.toks.get(self.pos + n).map(|t| &t.tok).unwrap_or(&Tok::Eof)
    }
    fn next(&mut self) -> Token {
        let t = self.peek().clone();
        if self.pos < self.toks.len() {
            self.pos += 1;
        }
        t
    }
    fn is_op(&self, op: &str) -> bool {
        matches!(&self.peek().tok, Tok::Op(o) if *o == op)
    }
    fn is_word(&self, word: &str) -> bool {
        matches!(&self.peek().tok, Tok::Ident(w) if w == word)
    }
    fn eat_op(&mut self, op: &str) -> bool {
        if self.is_op(op) {
            self.pos += 1;
            true
        } else {
            false
        }
    }
    fn eat_word(&mut self, word: &str) -> bool {
        if self.is_word(word) {
            self.pos += 1;
            true
        } else {
            false
        }
    }
    fn expect_op(&mut self, op: &str, context: &str) -> PResult<Span> {
        if self.is_op(op) {
            Ok(self.next().span)
        } else {
            Err(self.unexpected(&format!("'{op}' {context}")))
        }
    }
    fn error(&self, at: usize, message: impl Into<String>) -> ParseError {
        ParseError {
            message: message.into(),
            at,
        }
    }
    fn unexpected(&self, wanted: &str) -> ParseError {
        let t = self.peek();
        let found = match &t.tok {
            Tok::Eof => "the end of the source".to_string(),
            Tok::Int(i) => format!("{i}"),
            Tok::Float(f) => format!("{f}"),
            Tok::Str(s) => format!("{s:?}"),
            Tok::Ident(w) => format!("'{w}'"),
            Tok::Op(o) => format!("'{o}'"),
        };
        self.error(t.span.start, format!("expected {wanted}, found {found}"))
    }

    fn enter(&mut self) -> PResult<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error(
                self.peek().span.start,
                format!("the expression nests deeper than {MAX_DEPTH} levels"),
            ));
        }
        Ok(())
    }
    fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    fn is_keyword(&self, word: &str) -> bool {
        match self.lang {
            Lang::Python => PY_KEYWORDS.contains(&word),
            _ => JS_KEYWORDS.contains(&word),
        }
    }

    fn bind(&mut self, name: &str, at: usize) -> PResult<usize> {
        if self.is_keyword(name) {
            return Err(self.error(at, format!("'{name}' is a keyword and cannot be a parameter")));
        }
        if self.slots.iter().any(|s| s == name) {
            return Err(self.error(at, format!("the parameter '{name}' appears twice")));
        }
        self.slots.push(name.to_string());
        Ok(self.slots.len() - 1)
    }

    fn ident(&mut self, what: &str) -> PResult<(String, Span)> {
        match self.peek().tok.clone() {
            Tok::Ident(w) => {
                let span = self.next().span;
                Ok((w, span))
            }
            _ => Err(self.unexpected(what)),
        }
    }

    /// `lambda a, b:`
    fn python_header(&mut self) -> PResult<(Vec<String>, Vec<Pattern>)> {
        if !self.eat_word("lambda") {
            return Err(self.unexpected("'lambda' (a Python function starts with lambda)"));
        }
        let mut params = Vec::new();
        let mut patterns = Vec::new();
        if !self.is_op(":") {
            loop {
                let (name, span) = self.ident("a parameter name")?;
                if self.is_op("=") {
                    return Err(self.error(
                        self.peek().span.start,
                        "default parameter values are not supported",
                    ));
                }
                let slot = self.bind(&name, span.start)?;
                params.push(name);
                patterns.push(Pattern::Name(slot));
                if !self.eat_op(",") {
                    break;
                }
            }
        }
        self.expect_op(":", "after the lambda's parameters")?;
        Ok((params, patterns))
    }

    /// `x =>`, `(a, b) =>`, `([k, v]) =>`, `({name}) =>`
    fn js_header(&mut self) -> PResult<(Vec<String>, Vec<Pattern>)> {
        if self.is_word("lambda") {
            return Err(self.unexpected("a JS arrow function"));
        }
        if self.is_word("function") {
            return Err(self.error(
                self.peek().span.start,
                "use an arrow function (x => ...), not 'function'",
            ));
        }
        let mut params = Vec::new();
        let mut patterns = Vec::new();
        if let Tok::Ident(_) = self.peek().tok {
            let (name, span) = self.ident("a parameter")?;
            let slot = self.bind(&name, span.start)?;
            params.push(name);
            patterns.push(Pattern::Name(slot));
        } else {
            self.expect_op("(", "to start the parameters (x => ... or (a, b) => ...)")?;
            if !self.is_op(")") {
                loop {
                    let (name, pattern) = self.js_param()?;
                    params.push(name);
                    patterns.push(pattern);
                    if !self.eat_op(",") {
                        break;
                    }
                }
            }
            self.expect_op(")", "to close the parameters")?;
        }
        self.expect_op("=>", "after the parameters")?;
        Ok((params, patterns))
    }

    fn js_param(&mut self) -> PResult<(String, Pattern)> {
        if self.eat_op("[") {
            let mut slots = Vec::new();
            let mut names = Vec::new();
            if !self.is_op("]") {
                loop {
                    let (name, span) = self.ident("a name in the list pattern")?;
                    slots.push(self.bind(&name, span.start)?);
                    names.push(name);
                    if !self.eat_op(",") {
                        break;
                    }
                }
            }
            self.expect_op("]", "to close the list pattern")?;
            return Ok((format!("[{}]", names.join(", ")), Pattern::List(slots)));
        }
        if self.eat_op("{") {
            let mut fields = Vec::new();
            let mut names = Vec::new();
            if !self.is_op("}") {
                loop {
                    let (name, span) = self.ident("a field name in the record pattern")?;
                    fields.push((name.clone(), self.bind(&name, span.start)?));
                    names.push(name);
                    if !self.eat_op(",") {
                        break;
                    }
                }
            }
            self.expect_op("}", "to close the record pattern")?;
            return Ok((format!("{{{}}}", names.join(", ")), Pattern::Record(fields)));
        }
        let (name, span) = self.ident("a parameter name")?;
        if self.is_op("=") {
            return Err(self.error(
                self.peek().span.start,
                "default parameter values are not supported",
            ));
        }
        let slot = self.bind(&name, span.start)?;
        Ok((name, Pattern::Name(slot)))
    }

    /// `{ return expr; }`
    fn js_block(&mut self) -> PResult<Expr> {
        self.expect_op("{", "")?;
        if !self.eat_word("return") {
            return Err(self.unexpected("'return' (a block body must be a single return statement)"));
        }
        let e = self.expr()?;
        self.eat_op(";");
        self.expect_op(
            "}",
            "to close the function body (only one return statement is allowed)",
        )?;
        Ok(e)
    }

    fn expr(&mut self) -> PResult<Expr> {
        self.enter()?;
        let e = match self.lang {
            Lang::Python => self.py_conditional(),
            _ => self.js_conditional(),
        };
        self.leave();
        e
    }

    // ---- JS precedence levels

    fn js_conditional(&mut self) -> PResult<Expr> {
        let cond = self.js_coalesce()?;
        if self.is_op("?") {
            self.next();
            let then = self.expr()?;
            self.expect_op(":", "in the conditional expression (c ? a : b)")?;
            let otherwise = self.expr()?;
            let span = cond.span().to(otherwise.span());
            return Ok(Expr::Conditional {
                cond: Box::new(cond),
                then: Box::new(then),
                otherwise: Box::new(otherwise),
                span,
            });
        }
        Ok(cond)
    }

    fn logical_chain(
        &mut self,
        ops: &[(&str, LogicalOp)],
        next: fn(&mut Parser) -> PResult<Expr>,
        words: bool,
    ) -> PResult<Expr> {
        let mut links = 0;
        let mut left = next(self)?;
        loop {
            let found = ops
                .iter()
                .find(|(o, _)| if words { self.is_word(o) } else { self.is_op(o) })
                .map(|(_, op)| *op);
            let Some(op) = found else { break };
            self.next();
            // Each link nests the tree one level deeper on the left.
            self.enter()?;
            links += 1;
            let right = next(self)?;
            let span = left.span().to(right.span());
            left = Expr::Logical {
                op,
                left: Box::new(left),
                right: Box::new(right),
                span,
            };
        }
        self.depth = self.depth.saturating_sub(links);
        Ok(left)
    }

    fn js_coalesce(&mut self) -> PResult<Expr> {
        self.logical_chain(&[("??", LogicalOp::Coalesce)], Parser::js_or, false)
    }
    fn js_or(&mut self) -> PResult<Expr> {
        self.logical_chain(&[("||", LogicalOp::Or)], Parser::js_and, false)
    }
    fn js_and(&mut self) -> PResult<Expr> {
        self.logical_chain(&[("&&", LogicalOp::And)], Parser::js_equality, false)
    }

    fn compare_chain(
        &mut self,
        ops: &[(&str, CompareOp)],
        next: fn(&mut Parser) -> PResult<Expr>,
        chained: bool,
    ) -> PResult<Expr> {
        let mut links = 0;
        let mut left = next(self)?;
        let mut rest: Vec<(CompareOp, Expr, Span)> = Vec::new();
        loop {
            let found = ops
                .iter()
                .find(|(o, _)| self.is_op(o) || self.is_word(o))
                .map(|(_, op)| *op);
            let op = match found {
                Some(op) => op,
                None if self.lang == Lang::Python
                    && self.is_word("not")
                    && matches!(self.peek_at(1), Tok::Ident(w) if w == "in") =>
                {
                    CompareOp::NotIn
                }
                None => break,
            };
            let op_span = self.next().span;
            let op = match op {
                CompareOp::NotIn => {
                    self.next();
                    CompareOp::NotIn
                }
                CompareOp::Is if self.eat_word("not") => CompareOp::IsNot,
                other => other,
            };
            self.enter()?;
            links += 1;
            let right = next(self)?;
            if chained {
                rest.push((op, right, op_span));
            } else {
                let span = left.span().to(right.span());
                left = Expr::Compare {
                    first: Box::new(left),
                    rest: vec![(op, right, op_span)],
                    span,
                };
            }
        }
        self.depth = self.depth.saturating_sub(links);
        if rest.is_empty() {
            return Ok(left);
        }
        let span = rest
            .last()
            .map(|(_, e, _)| left.span().to(e.span()))
            .unwrap_or(left.span());
        Ok(Expr::Compare {
            first: Box::new(left),
            rest,
            span,
        })
    }

    fn js_equality(&mut self) -> PResult<Expr> {
        self.compare_chain(
            &[
                ("===", CompareOp::Eq),
                ("!==", CompareOp::Ne),
                ("==", CompareOp::Eq),
                ("!=", CompareOp::Ne),
            ],
            Parser::js_relational,
            false,
        )
    }
    fn js_relational(&mut self) -> PResult<Expr> {
        self.compare_chain(
            &[
                ("<=", CompareOp::Le),
                (">=", CompareOp::Ge),
                ("<", CompareOp::Lt),
                (">", CompareOp::Gt),
                ("in", CompareOp::In),
            ],
            Parser::additive,
            false,
        )
    }

    fn binary_chain(
        &mut self,
        ops: &[(&str, BinaryOp)],
        next: fn(&mut Parser) -> PResult<Expr>,
    ) -> PResult<Expr> {
        let mut links = 0;
        let mut left = next(self)?;
        loop {
            let found = ops.iter().find(|(o, _)| self.is_op(o)).map(|(_, op)| *op);
            let Some(op) = found else { break };
            let op_span = self.next().span;
            self.enter()?;
            links += 1;
            let right = next(self)?;
            left = Expr::Binary {
                op,
                left: Box::new(left),
                right: Box::new(right),
                span: op_span,
            };
        }
        self.depth = self.depth.saturating_sub(links);
        Ok(left)
    }

    fn additive(&mut self) -> PResult<Expr> {
        self.binary_chain(
            &[("+", BinaryOp::Add), ("-", BinaryOp::Sub)],
            Parser::multiplicative,
        )
    }

    fn multiplicative(&mut self) -> PResult<Expr> {
        match self.lang {
            Lang::Python => self.binary_chain(
                &[
                    ("*", BinaryOp::Mul),
                    ("//", BinaryOp::FloorDiv),
                    ("/", BinaryOp::Div),
                    ("%", BinaryOp::Mod),
                ],
                Parser::py_factor,
            ),
            _ => self.binary_chain(
                &[("*", BinaryOp::Mul), ("/", BinaryOp::Div), ("%", BinaryOp::Mod)],
                Parser::js_exponent,
            ),
        }
    }

    fn js_exponent(&mut self) -> PResult<Expr> {
        let base = self.js_unary()?;
        if self.is_op("**") {
            let span = self.next().span;
            self.enter()?;
            let exp = self.js_exponent();
            self.leave();
            return Ok(Expr::Binary {
                op: BinaryOp::Pow,
                left: Box::new(base),
                right: Box::new(exp?),
                span,
            });
        }
        Ok(base)
    }

    fn js_unary(&mut self) -> PResult<Expr> {
        let op = if self.is_op("!") {
            Some(UnaryOp::Not)
        } else if self.is_op("-") {
            Some(UnaryOp::Neg)
        } else if self.is_op("+") {
            Some(UnaryOp::Plus)
        } else {
            None
        };
        if let Some(op) = op {
            let span = self.next().span;
            self.enter()?;
            let inner = self.js_unary();
            self.leave();
            let inner = inner?;
            return Ok(Expr::Unary {
                op,
                expr: Box::new(inner),
                span,
            });
        }
        self.postfix()
    }

    // ---- Python precedence levels

    fn py_conditional(&mut self) -> PResult<Expr> {
        if self.is_word("lambda") {
            return Err(self.error(self.peek().span.start, "nested lambdas are not supported"));
        }
        let then = self.py_or()?;
        if self.eat_word("if") {
            let cond = self.py_or()?;
            if !self.eat_word("else") {
                return Err(self.unexpected("'else' in the conditional expression (a if c else b)"));
            }
            let otherwise = self.expr()?;
            let span = then.span().to(otherwise.span());
            return Ok(Expr::Conditional {
                cond: Box::new(cond),
                then: Box::new(then),
                otherwise: Box::new(otherwise),
                span,
            });
        }
        Ok(then)
    }
    fn py_or(&mut self) -> PResult<Expr> {
        self.logical_chain(&[("or", LogicalOp::Or)], Parser::py_and, true)
    }
    fn py_and(&mut self) -> PResult<Expr> {
        self.logical_chain(&[("and", LogicalOp::And)], Parser::py_not, true)
    }
    fn py_not(&mut self) -> PResult<Expr> {
        if self.is_word("not") {
            let span = self.next().span;
            self.enter()?;
            let inner = self.py_not();
            self.leave();
            return Ok(Expr::Unary {
                op: UnaryOp::Not,
                expr: Box::new(inner?),
                span,
            });
        }
        self.py_comparison()
    }
    fn py_comparison(&mut self) -> PResult<Expr> {
        self.compare_chain(
            &[
                ("==", CompareOp::Eq),
                ("!=", CompareOp::Ne),
                ("<=", CompareOp::Le),
                (">=", CompareOp::Ge),
                ("<", CompareOp::Lt),
                (">", CompareOp::Gt),
                ("in", CompareOp::In),
                ("is", CompareOp::Is),
            ],
            Parser::py_bitor,
            true,
        )
    }
    // Python's `|` and `&` bind tighter than comparisons, as in pandas' `(a > 1) & (b < 2)`.
    fn py_bitor(&mut self) -> PResult<Expr> {
        self.binary_chain(&[("|", BinaryOp::BitOr)], Parser::py_bitand)
    }
    fn py_bitand(&mut self) -> PResult<Expr> {
        self.binary_chain(&[("&", BinaryOp::BitAnd)], Parser::additive)
    }
    fn py_factor(&mut self) -> PResult<Expr> {
        let op = if self.is_op("-") {
            Some(UnaryOp::Neg)
        } else if self.is_op("~") {
            Some(UnaryOp::Invert)
        } else if self.is_op("+") {
            Some(UnaryOp::Plus)
        } else {
            None
        };
        if let Some(op) = op {
            let span = self.next().span;
            self.enter()?;
            let inner = self.py_factor();
            self.leave();
            return Ok(Expr::Unary {
                op,
                expr: Box::new(inner?),
                span,
            });
        }
        self.py_power()
    }
    fn py_power(&mut self) -> PResult<Expr> {
        let base = self.postfix()?;
        if self.is_op("**") {
            let span = self.next().span;
            self.enter()?;
            let exp = self.py_factor();
            self.leave();
            return Ok(Expr::Binary {
                op: BinaryOp::Pow,
                left: Box::new(base),
                right: Box::new(exp?),
                span,
            });
        }
        Ok(base)
    }

    // ---- postfix and primary

    fn postfix(&mut self) -> PResult<Expr> {
        let mut e = self.primary()?;
        let mut links = 0usize;
        loop {
            links += 1;
            if links > MAX_DEPTH {
                return Err(self.error(
                    self.peek().span.start,
                    format!("the expression nests deeper than {MAX_DEPTH} levels"),
                ));
            }
            if self.is_op(".") || self.is_op("?.") {
                let optional = self.next().tok == Tok::Op("?.");
                if optional && self.is_op("[") {
                    return Err(self.error(self.peek().span.start, "?.[ is not supported; use ?.name"));
                }
                let (name, span) = self.ident("a field or method name after '.'")?;
                if self.is_op("(") {
                    let method = self.method(&name, span.start)?;
                    let args = self.args()?;
                    e = Expr::MethodCall {
                        object: Box::new(e),
                        method,
                        name,
                        args,
                        span,
                    };
                } else {
                    e = Expr::Member {
                        object: Box::new(e),
                        name,
                        optional,
                        span,
                    };
                }
            } else if self.is_op("[") {
                let open = self.next().span;
                e = self.index_or_slice(e, open)?;
            } else if self.is_op("(") {
                return Err(self.error(
                    self.peek().span.start,
                    "only library functions can be called here",
                ));
            } else {
                break;
            }
        }
        Ok(e)
    }

    fn index_or_slice(&mut self, object: Expr, open: Span) -> PResult<Expr> {
        let mut parts: Vec<Option<Box<Expr>>> = vec![None];
        let mut colons = 0;
        loop {
            if self.is_op("]") {
                break;
            }
            if self.is_op(":") {
                if self.lang != Lang::Python {
                    return Err(self.error(
                        self.peek().span.start,
                        "slices x[a:b] are Python; in JS use x.slice(a, b)",
                    ));
                }
                self.next();
                colons += 1;
                if colons > 2 {
                    return Err(self.error(self.peek().span.start, "a slice has at most two ':'"));
                }
                parts.push(None);
                continue;
            }
            let e = self.expr()?;
            match parts.last_mut() {
                Some(slot @ None) => *slot = Some(Box::new(e)),
                _ => return Err(self.unexpected("']' or ':'")),
            }
        }
        let close = self.expect_op("]", "to close the index")?;
        let span = open.to(close);
        if colons == 0 {
            let index = parts
                .pop()
                .flatten()
                .ok_or_else(|| self.error(open.start, "empty index []"))?;
            return Ok(Expr::Index {
                object: Box::new(object),
                index,
                span,
            });
        }
        let mut it = parts.into_iter();
        let start = it.next().flatten();
        let stop = it.next().flatten();
        let step = it.next().flatten();
        Ok(Expr::Slice {
            object: Box::new(object),
            start,
            stop,
            step,
            span,
        })
    }

    fn args(&mut self) -> PResult<Vec<Expr>> {
        self.expect_op("(", "")?;
        let mut args = Vec::new();
        if !self.is_op(")") {
            loop {
                if self.is_op("...") || self.is_op("*") {
                    return Err(self.error(self.peek().span.start, "spreading arguments is not supported"));
                }
                args.push(self.expr()?);
                if let Tok::Ident(_) = self.peek().tok {
                    if matches!(self.peek_at(1), Tok::Op("=")) {
                        return Err(self.error(self.peek().span.start, "keyword arguments are not supported"));
                    }
                }
                if !self.eat_op(",") {
                    break;
                }
                if self.is_op(")") {
                    break;
                }
            }
        }
        self.expect_op(")", "to close the arguments")?;
        Ok(args)
    }

    fn method(&self, name: &str, at: usize) -> PResult<Method> {
        resolve_method(name, self.lang).ok_or_else(|| {
            self.error(
                at,
                format!("unknown method '{name}' (docs/expressions.md lists the methods)"),
            )
        })
    }

    fn builtin_call(&mut self, func: Builtin, span: Span) -> PResult<Expr> {
        let args = self.args()?;
        let end = self
            .toks
            .get(self.pos.saturating_sub(1))
            .map(|t| t.span)
            .unwrap_or(span);
        Ok(Expr::Call {
            func,
            args,
            span: span.to(end),
        })
    }

    /// `Math.floor(x)`, `Math.PI`, `math.sqrt(x)`, `Object.keys(x)`, `Array.isArray(x)`.
    fn namespace(&mut self, ns: &str, span: Span) -> PResult<Expr> {
        self.expect_op(".", &format!("after '{ns}'"))?;
        let (name, nspan) = self.ident(&format!("a name after '{ns}.'"))?;
        let constant = match (ns, name.as_str()) {
            ("Math", "PI") | ("math", "pi") => Some(std::f64::consts::PI),
            ("Math", "E") | ("math", "e") => Some(std::f64::consts::E),
            ("math", "inf") | ("Number", "POSITIVE_INFINITY") => Some(f64::INFINITY),
            ("math", "nan") | ("Number", "NaN") => Some(f64::NAN),
            ("Math", "LN2") => Some(std::f64::consts::LN_2),
            ("Math", "SQRT2") => Some(std::f64::consts::SQRT_2),
            _ => None,
        };
        if let Some(c) = constant {
            return Ok(Expr::Literal(Value::Float(c), span.to(nspan)));
        }
        let func = match (ns, name.as_str()) {
            ("Math" | "math", "abs" | "fabs") => Builtin::Abs,
            ("Math" | "math", "floor") => Builtin::Floor,
            ("Math" | "math", "ceil") => Builtin::Ceil,
            ("Math" | "math", "trunc") => Builtin::Trunc,
            ("Math", "sign") => Builtin::Sign,
            ("Math" | "math", "sqrt") => Builtin::Sqrt,
            ("Math" | "math", "exp") => Builtin::Exp,
            ("Math" | "math", "log") => Builtin::Log,
            ("Math" | "math", "log10") => Builtin::Log10,
            ("Math" | "math", "log2") => Builtin::Log2,
            ("Math" | "math", "pow") => Builtin::Pow,
            ("Math" | "math", "sin") => Builtin::Sin,
            ("Math" | "math", "cos") => Builtin::Cos,
            ("Math" | "math", "tan") => Builtin::Tan,
            ("Math", "min") => Builtin::Min,
            ("Math", "max") => Builtin::Max,
            ("Math", "round") => Builtin::JsRound,
            ("math", "isnan") | ("Number", "isNaN") => Builtin::IsNaN,
            ("Number", "parseFloat") => Builtin::ParseFloat,
            ("Number", "parseInt") => Builtin::ParseInt,
            ("Object", "keys") => Builtin::Keys,
            ("Object", "values") => Builtin::Values,
            ("Object", "entries") => Builtin::Entries,
            ("Array", "isArray") => Builtin::IsArray,
            _ => return Err(self.error(nspan.start, format!("unknown library function '{ns}.{name}'"))),
        };
        if !self.is_op("(") {
            return Err(self.error(nspan.start, format!("'{ns}.{name}' is a function: call it")));
        }
        self.builtin_call(func, span)
    }

    fn global_function(&self, name: &str) -> Option<Builtin> {
        let py = self.lang == Lang::Python;
        Some(match name {
            "len" => Builtin::Len,
            "str" => Builtin::Str,
            "int" => Builtin::Int,
            "float" => Builtin::Float,
            "bool" => Builtin::Bool,
            "abs" => Builtin::Abs,
            "min" => Builtin::Min,
            "max" => Builtin::Max,
            "sum" => Builtin::Sum,
            "round" => Builtin::Round,
            "floor" => Builtin::Floor,
            "ceil" => Builtin::Ceil,
            "sqrt" => Builtin::Sqrt,
            "exp" => Builtin::Exp,
            "log" => Builtin::Log,
            "pow" => Builtin::Pow,
            "sorted" => Builtin::Sorted,
            "list" | "tuple" => Builtin::List,
            "range" => Builtin::Range,
            "String" if !py => Builtin::Str,
            "Number" if !py => Builtin::Number,
            "Boolean" if !py => Builtin::Bool,
            "parseInt" if !py => Builtin::ParseInt,
            "parseFloat" if !py => Builtin::ParseFloat,
            "isNaN" if !py => Builtin::IsNaN,
            _ => return None,
        })
    }

    fn primary(&mut self) -> PResult<Expr> {
        let t = self.next();
        let span = t.span;
        match t.tok {
            Tok::Int(i) => Ok(Expr::Literal(Value::Int(i), span)),
            Tok::Float(f) => Ok(Expr::Literal(Value::Float(f), span)),
            Tok::Str(s) => Ok(Expr::Literal(Value::from(s), span)),
            Tok::Op("(") => {
                let first = self.expr()?;
                if self.lang == Lang::Python && self.is_op(",") {
                    // A tuple becomes a list.
                    let mut items = vec![first];
                    while self.eat_op(",") {
                        if self.is_op(")") {
                            break;
                        }
                        items.push(self.expr()?);
                    }
                    let close = self.expect_op(")", "to close the tuple")?;
                    return Ok(Expr::List(items, span.to(close)));
                }
                self.expect_op(")", "to close the parenthesis")?;
                Ok(first)
            }
            Tok::Op("[") => {
                let mut items = Vec::new();
                while !self.is_op("]") {
                    items.push(self.expr()?);
                    if self.is_word("for") {
                        return Err(self.error(
                            self.peek().span.start,
                            "comprehensions are not supported (no loops)",
                        ));
                    }
                    if !self.eat_op(",") {
                        break;
                    }
                }
                let close = self.expect_op("]", "to close the list")?;
                Ok(Expr::List(items, span.to(close)))
            }
            Tok::Op("{") => self.record(span),
            Tok::Ident(word) => self.name(word, span),
            Tok::Eof => Err(self.error(span.start, "expected an expression, found the end of the source")),
            Tok::Op(op) => Err(self.error(span.start, format!("expected an expression, found '{op}'"))),
        }
    }

    fn record(&mut self, open: Span) -> PResult<Expr> {
        let mut fields: Vec<(String, Expr)> = Vec::new();
        while !self.is_op("}") {
            let key_tok = self.next();
            let key = match (&key_tok.tok, self.lang) {
                (Tok::Str(s), _) => s.clone(),
                (Tok::Ident(w), l) if l != Lang::Python => w.clone(),
                (Tok::Int(i), l) if l != Lang::Python => i.to_string(),
                (Tok::Ident(w), Lang::Python) => {
                    return Err(self.error(
                        key_tok.span.start,
                        format!(
                        "dict keys must be string literals here; write '{w}': ... for the key, not a name"
                    ),
                    ))
                }
                _ => {
                    return Err(self.error(
                        key_tok.span.start,
                        "expected a field name (a string or, in JS, a name)",
                    ))
                }
            };
            let value = if self.lang != Lang::Python && (self.is_op(",") || self.is_op("}")) {
                // JS shorthand {x}: the parameter x.
                self.name(key.clone(), key_tok.span)?
            } else {
                self.expect_op(":", "after the field name")?;
                self.expr()?
            };
            if let Some(slot) = fields.iter_mut().find(|(k, _)| *k == key) {
                slot.1 = value;
            } else {
                fields.push((key, value));
            }
            if !self.eat_op(",") {
                break;
            }
        }
        let close = self.expect_op("}", "to close the record")?;
        Ok(Expr::Record(fields, open.to(close)))
    }

    fn name(&mut self, word: String, span: Span) -> PResult<Expr> {
        if let Some(slot) = self.slots.iter().position(|s| *s == word) {
            return Ok(Expr::Param(slot, span));
        }
        let py = self.lang == Lang::Python;
        match word.as_str() {
            "True" if py => return Ok(Expr::Literal(Value::Bool(true), span)),
            "False" if py => return Ok(Expr::Literal(Value::Bool(false), span)),
            "None" if py => return Ok(Expr::Literal(Value::Null, span)),
            "true" if !py => return Ok(Expr::Literal(Value::Bool(true), span)),
            "false" if !py => return Ok(Expr::Literal(Value::Bool(false), span)),
            "null" | "undefined" if !py => return Ok(Expr::Literal(Value::Null, span)),
            "NaN" if !py => return Ok(Expr::Literal(Value::Float(f64::NAN), span)),
            "Infinity" if !py => return Ok(Expr::Literal(Value::Float(f64::INFINITY), span)),
            "Math" | "Object" | "Array" | "Number" if !py && self.is_op(".") => {
                return self.namespace(&word.clone(), span)
            }
            "math" if py => return self.namespace("math", span),
            _ => {}
        }
        if let Some(func) = self.global_function(&word) {
            if !self.is_op("(") {
                return Err(self.error(
                    span.start,
                    format!("'{word}' is a library function: call it, as {word}(...)"),
                ));
            }
            return self.builtin_call(func, span);
        }
        if self.is_keyword(&word) {
            return Err(self.error(span.start, format!("'{word}' is not supported in expressions")));
        }
        if self.is_word("for") {
            return Err(self.error(
                self.peek().span.start,
                "comprehensions are not supported (no loops)",
            ));
        }
        let params = if self.slots.is_empty() {
            "none".to_string()
        } else {
            self.slots.join(", ")
        };
        Err(self.error(
            span.start,
            format!("unknown name '{word}'; the function's parameters are: {params}"),
        ))
    }
}

/// A method by its name in a front end (`lower` and `toLowerCase` are the same method;
/// `replace` differs between JS and Python).
pub fn resolve_method(name: &str, lang: Lang) -> Option<Method> {
    let py = lang == Lang::Python;
    let m = match name {
        "lower" | "toLowerCase" => Method::Lower,
        "upper" | "toUpperCase" => Method::Upper,
        "strip" | "trim" => Method::Strip,
        "lstrip" | "trimStart" => Method::LStrip,
        "rstrip" | "trimEnd" => Method::RStrip,
        "split" => Method::Split,
        "join" if py => Method::JoinPy,
        "join" => Method::JoinJs,
        "replace" if py => Method::ReplaceAll,
        "replace" => Method::ReplaceFirst,
        "replaceAll" => Method::ReplaceAll,
        "startswith" | "startsWith" => Method::StartsWith,
        "endswith" | "endsWith" => Method::EndsWith,
        "find" | "indexOf" => Method::Find,
        "index" => Method::Index,
        "count" => Method::Count,
        "title" => Method::Title,
        "capitalize" => Method::Capitalize,
        "includes" => Method::Includes,
        "slice" => Method::Slice,
        "substring" => Method::Substring,
        "padStart" => Method::PadStart,
        "padEnd" => Method::PadEnd,
        "isdigit" => Method::IsDigit,
        "isalpha" => Method::IsAlpha,
        "get" => Method::Get,
        "keys" => Method::Keys,
        "values" => Method::Values,
        "items" | "entries" => Method::Items,
        "concat" => Method::Concat,
        "repeat" => Method::Repeat,
        "reverse" | "toReversed" => Method::Reversed,
        "toFixed" => Method::ToFixed,
        "toString" => Method::ToString,
        "at" => Method::At,
        _ => return None,
    };
    Some(m)
}
