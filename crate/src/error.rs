//! The one error type of the engine.
//!
//! Every failure is an [`Error`] with a [`ErrorKind`], a message that names the
//! operation, key, column or shape involved, and, where a task failed, the key of
//! that task. The JS binding turns it into an `EngineError { kind, message, key }`.

use serde::Serialize;
use std::fmt;

/// What went wrong, in one word the UI and tests can match on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The plan JSON is malformed or does not validate (unknown op, arity, cycle, argument type).
    Plan,
    /// An expression's source does not parse, or names a free variable.
    Syntax,
    /// An expression failed while evaluating (type error, division by zero, overflow).
    Eval,
    /// A value has the wrong type for an operation outside expressions.
    Type,
    /// A value is out of range or otherwise unacceptable (missing key, bad index).
    Value,
    /// Shapes, chunks or partition counts do not fit together.
    Shape,
    /// A documented limit (expression steps, memory budget, nesting depth) was reached.
    Limit,
    /// The computation was cancelled before it finished.
    Cancelled,
    /// Reading or writing outside data failed (a file, CSV text, JSON text).
    Io,
    /// An engine invariant did not hold; this is a bug in partita.
    Internal,
}

impl ErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Plan => "plan",
            ErrorKind::Syntax => "syntax",
            ErrorKind::Eval => "eval",
            ErrorKind::Type => "type",
            ErrorKind::Value => "value",
            ErrorKind::Shape => "shape",
            ErrorKind::Limit => "limit",
            ErrorKind::Cancelled => "cancelled",
            ErrorKind::Io => "io",
            ErrorKind::Internal => "internal",
        }
    }
}

/// An engine error: kind, message and (when a task failed) the task's key.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Error {
    pub kind: ErrorKind,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            key: None,
        }
    }
    pub fn plan(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Plan, message)
    }
    pub fn syntax(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Syntax, message)
    }
    pub fn eval(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Eval, message)
    }
    pub fn type_error(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Type, message)
    }
    pub fn value(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Value, message)
    }
    pub fn shape(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Shape, message)
    }
    pub fn limit(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Limit, message)
    }
    pub fn cancelled(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Cancelled, message)
    }
    pub fn io(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Io, message)
    }
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, message)
    }

    /// Attaches the key of the task that failed, unless a deeper task already set one.
    pub fn with_key(mut self, key: impl Into<String>) -> Self {
        if self.key.is_none() {
            self.key = Some(key.into());
        }
        self
    }

    /// Prefixes the message with where it happened (`"bag.map, partition 3: "`).
    pub fn context(mut self, context: impl fmt::Display) -> Self {
        self.message = format!("{context}: {}", self.message);
        self
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} error", self.kind.as_str())?;
        if let Some(key) = &self.key {
            write!(f, " in task {key}")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for Error {}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::io(format!("JSON: {e}"))
    }
}

/// Builds an [`Error`] of the given kind with `format!` arguments.
#[macro_export]
macro_rules! err {
    ($kind:ident, $($arg:tt)+) => {
        $crate::error::Error::new($crate::error::ErrorKind::$kind, format!($($arg)+))
    };
}

/// Returns early with an [`Error`] of the given kind.
#[macro_export]
macro_rules! bail {
    ($kind:ident, $($arg:tt)+) => {
        return Err($crate::err!($kind, $($arg)+))
    };
}
