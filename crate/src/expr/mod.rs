//! Temporary stand-in for the expression language (replaced by the real module).
use crate::error::{Error, Result};
use crate::value::Value;
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Js,
    Python,
    Auto,
}

#[derive(Debug, Clone)]
pub struct Function {
    source: Arc<str>,
    params: Arc<Vec<String>>,
}

impl Function {
    pub fn parse(source: &str, _lang: Lang) -> Result<Function> {
        let (p, _) = source.split_once("=>").ok_or_else(|| Error::syntax("stub"))?;
        let params: Vec<String> = p
            .trim()
            .trim_matches(|c| c == '(' || c == ')')
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect();
        Ok(Function {
            source: Arc::from(source),
            params: Arc::new(params),
        })
    }
    pub fn source(&self) -> &str {
        &self.source
    }
    pub fn arity(&self) -> usize {
        self.params.len()
    }
    pub fn params(&self) -> &[String] {
        &self.params
    }
    pub fn call(&self, args: &[Value]) -> Result<Value> {
        Ok(args.first().cloned().unwrap_or(Value::Null))
    }
    pub fn call1(&self, a: &Value) -> Result<Value> {
        self.call(std::slice::from_ref(a))
    }
    pub fn call2(&self, a: &Value, b: &Value) -> Result<Value> {
        self.call(&[a.clone(), b.clone()])
    }
}
