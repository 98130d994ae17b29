//! The one AST both front ends parse into. Every node carries the byte span of its
//! source, so runtime errors can point at it. Names are resolved at parse time:
//! parameters become slots, library functions and methods become enum variants.

use crate::value::Value;

/// Byte range in the function's source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Span {
        Span { start, end }
    }
    pub fn to(self, other: Span) -> Span {
        Span {
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnaryOp {
    Neg,
    Plus,
    Not,
    /// Python `~`: bitwise on ints, logical on bools (pandas' element-wise not).
    Invert,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryOp {
    Add,
    Sub,
    Mul,
    /// True division: always a float.
    Div,
    /// Python's `//`: floors.
    FloorDiv,
    /// Python's `%`: the sign of the divisor.
    Mod,
    Pow,
    /// Python `&`: bitwise on ints, logical on bools (pandas' element-wise and).
    BitAnd,
    /// Python `|`.
    BitOr,
}

impl BinaryOp {
    pub fn symbol(self) -> &'static str {
        match self {
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
            BinaryOp::FloorDiv => "//",
            BinaryOp::Mod => "%",
            BinaryOp::Pow => "**",
            BinaryOp::BitAnd => "&",
            BinaryOp::BitOr => "|",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    In,
    NotIn,
    /// Python's `is`: equal and of the same type.
    Is,
    IsNot,
}

impl CompareOp {
    pub fn symbol(self) -> &'static str {
        match self {
            CompareOp::Eq => "==",
            CompareOp::Ne => "!=",
            CompareOp::Lt => "<",
            CompareOp::Le => "<=",
            CompareOp::Gt => ">",
            CompareOp::Ge => ">=",
            CompareOp::In => "in",
            CompareOp::NotIn => "not in",
            CompareOp::Is => "is",
            CompareOp::IsNot => "is not",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogicalOp {
    And,
    Or,
    /// JS `??`: the left side unless it is null.
    Coalesce,
}

/// A library function (called by name: `len(x)`, `Math.floor(x)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Builtin {
    Len,
    Str,
    Int,
    Float,
    Bool,
    Abs,
    Min,
    Max,
    Sum,
    /// Python's round: half to even, optional ndigits.
    Round,
    /// JS Math.round: half up.
    JsRound,
    Floor,
    Ceil,
    Trunc,
    Sign,
    Sqrt,
    Exp,
    Log,
    Log10,
    Log2,
    Pow,
    Sorted,
    List,
    Range,
    /// JS Number(x): a number from a string or bool.
    Number,
    ParseInt,
    ParseFloat,
    IsArray,
    Keys,
    Values,
    Entries,
    IsNaN,
    Sin,
    Cos,
    Tan,
}

/// A method called on a value (`s.lower()`, `xs.includes(3)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Lower,
    Upper,
    Strip,
    LStrip,
    RStrip,
    /// Python split: whitespace by default, optional maxsplit.
    Split,
    /// Python `sep.join(items)`.
    JoinPy,
    /// JS `items.join(sep)`.
    JoinJs,
    /// Python replace: every occurrence (optional count).
    ReplaceAll,
    /// JS replace with a string pattern: the first occurrence.
    ReplaceFirst,
    StartsWith,
    EndsWith,
    /// Python find / JS indexOf: -1 when absent.
    Find,
    Count,
    Title,
    Capitalize,
    Includes,
    Slice,
    Substring,
    PadStart,
    PadEnd,
    IsDigit,
    IsAlpha,
    Get,
    Keys,
    Values,
    Items,
    Concat,
    Index,
    Repeat,
    Reversed,
    ToFixed,
    ToString,
    At,
}

/// A parsed expression.
#[derive(Debug, Clone)]
pub enum Expr {
    Literal(Value, Span),
    /// A parameter (or a name bound by destructuring), by slot.
    Param(usize, Span),
    List(Vec<Expr>, Span),
    Record(Vec<(String, Expr)>, Span),
    /// `x.name`; `optional` for `x?.name`.
    Member {
        object: Box<Expr>,
        name: String,
        optional: bool,
        span: Span,
    },
    /// `x[index]`.
    Index {
        object: Box<Expr>,
        index: Box<Expr>,
        span: Span,
    },
    /// Python `x[start:stop:step]`.
    Slice {
        object: Box<Expr>,
        start: Option<Box<Expr>>,
        stop: Option<Box<Expr>>,
        step: Option<Box<Expr>>,
        span: Span,
    },
    Unary {
        op: UnaryOp,
        expr: Box<Expr>,
        span: Span,
    },
    Binary {
        op: BinaryOp,
        left: Box<Expr>,
        right: Box<Expr>,
        span: Span,
    },
    /// One comparison, or a Python chain `a < b < c` (each link's span is its operator).
    Compare {
        first: Box<Expr>,
        rest: Vec<(CompareOp, Expr, Span)>,
        span: Span,
    },
    Logical {
        op: LogicalOp,
        left: Box<Expr>,
        right: Box<Expr>,
        span: Span,
    },
    Conditional {
        cond: Box<Expr>,
        then: Box<Expr>,
        otherwise: Box<Expr>,
        span: Span,
    },
    Call {
        func: Builtin,
        args: Vec<Expr>,
        span: Span,
    },
    MethodCall {
        object: Box<Expr>,
        method: Method,
        name: String,
        args: Vec<Expr>,
        span: Span,
    },
}

impl Expr {
    pub fn span(&self) -> Span {
        match self {
            Expr::Literal(_, s) | Expr::Param(_, s) | Expr::List(_, s) | Expr::Record(_, s) => *s,
            Expr::Member { span, .. }
            | Expr::Index { span, .. }
            | Expr::Slice { span, .. }
            | Expr::Unary { span, .. }
            | Expr::Binary { span, .. }
            | Expr::Compare { span, .. }
            | Expr::Logical { span, .. }
            | Expr::Conditional { span, .. }
            | Expr::Call { span, .. }
            | Expr::MethodCall { span, .. } => *span,
        }
    }
}

/// How a parameter binds its argument.
#[derive(Debug, Clone)]
pub enum Pattern {
    /// The whole argument into one slot.
    Name(usize),
    /// JS `([a, b]) =>`: list items into slots.
    List(Vec<usize>),
    /// JS `({a, b}) =>`: record fields into slots.
    Record(Vec<(String, usize)>),
}
