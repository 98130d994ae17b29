//! Tokens for both front ends. The differences are small: `//` is floor division in
//! Python and a comment in JS; `#` starts a comment in Python.

use super::ast::Span;
use super::Lang;

#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    Int(i64),
    Float(f64),
    Str(String),
    Ident(String),
    /// Punctuation and operators, as written.
    Op(&'static str),
    Eof,
}

#[derive(Debug, Clone)]
pub struct Token {
    pub tok: Tok,
    pub span: Span,
}

/// Longest first, so `===` wins over `==` and `**` over `*`.
const OPS: &[&str] = &[
    "===", "!==", "...", "**", "//", "==", "!=", "<=", ">=", "&&", "||", "??", "?.", "=>", "+", "-", "*",
    "/", "%", "<", ">", "!", "(", ")", "[", "]", "{", "}", ",", ":", ".", "?", ";", "=", "&", "|", "^", "~",
    "@",
];

/// A lexing error: message and byte position.
pub struct LexError {
    pub message: String,
    pub at: usize,
}

pub fn lex(src: &str, lang: Lang) -> Result<Vec<Token>, LexError> {
    let bytes = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes.get(i).copied().unwrap_or(b' ');
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if lang == Lang::Python && c == b'#' {
            while i < bytes.len() && bytes.get(i) != Some(&b'\n') {
                i += 1;
            }
            continue;
        }
        if lang != Lang::Python && src.get(i..).is_some_and(|r| r.starts_with("//")) {
            while i < bytes.len() && bytes.get(i) != Some(&b'\n') {
                i += 1;
            }
            continue;
        }
        if lang != Lang::Python && src.get(i..).is_some_and(|r| r.starts_with("/*")) {
            match src.get(i + 2..).and_then(|r| r.find("*/")) {
                Some(end) => i = i + 2 + end + 2,
                None => {
                    return Err(LexError {
                        message: "unterminated comment".into(),
                        at: i,
                    })
                }
            }
            continue;
        }
        let start = i;
        if c.is_ascii_digit() || (c == b'.' && bytes.get(i + 1).is_some_and(u8::is_ascii_digit)) {
            let (tok, end) = number(src, i)?;
            out.push(Token {
                tok,
                span: Span::new(start, end),
            });
            i = end;
            continue;
        }
        if c == b'"' || c == b'\'' {
            let (s, end) = string(src, i, c)?;
            out.push(Token {
                tok: Tok::Str(s),
                span: Span::new(start, end),
            });
            i = end;
            continue;
        }
        if c == b'`' {
            return Err(LexError {
                message: "template literals are not supported; join strings with +".into(),
                at: i,
            });
        }
        if c.is_ascii_alphabetic() || c == b'_' || c == b'$' || c >= 0x80 {
            let mut end = i;
            for (off, ch) in src.get(i..).unwrap_or("").char_indices() {
                if ch.is_alphanumeric() || ch == '_' || ch == '$' {
                    end = i + off + ch.len_utf8();
                } else {
                    break;
                }
            }
            if end == i {
                let ch = src.get(i..).and_then(|r| r.chars().next()).unwrap_or('?');
                return Err(LexError {
                    message: format!("unexpected character '{ch}'"),
                    at: i,
                });
            }
            let word = src.get(i..end).unwrap_or("").to_string();
            out.push(Token {
                tok: Tok::Ident(word),
                span: Span::new(start, end),
            });
            i = end;
            continue;
        }
        let rest = src.get(i..).unwrap_or("");
        let op = OPS.iter().find(|op| rest.starts_with(**op)).copied();
        match op {
            // `?.` followed by a digit is `? .5` in JS.
            Some("?.") if rest.as_bytes().get(2).is_some_and(u8::is_ascii_digit) => {
                out.push(Token {
                    tok: Tok::Op("?"),
                    span: Span::new(i, i + 1),
                });
                i += 1;
            }
            Some(op) => {
                out.push(Token {
                    tok: Tok::Op(op),
                    span: Span::new(i, i + op.len()),
                });
                i += op.len();
            }
            None => {
                let ch = rest.chars().next().unwrap_or('?');
                return Err(LexError {
                    message: format!("unexpected character '{ch}'"),
                    at: i,
                });
            }
        }
    }
    out.push(Token {
        tok: Tok::Eof,
        span: Span::new(src.len(), src.len()),
    });
    Ok(out)
}

fn number(src: &str, start: usize) -> Result<(Tok, usize), LexError> {
    let bytes = src.as_bytes();
    let mut i = start;
    // Hex, octal and binary integers.
    if bytes.get(i) == Some(&b'0')
        && bytes
            .get(i + 1)
            .is_some_and(|b| matches!(b, b'x' | b'X' | b'o' | b'O' | b'b' | b'B'))
    {
        let radix = match bytes.get(i + 1) {
            Some(b'x' | b'X') => 16,
            Some(b'o' | b'O') => 8,
            _ => 2,
        };
        i += 2;
        let digits_start = i;
        while bytes
            .get(i)
            .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_')
        {
            i += 1;
        }
        let digits: String = src
            .get(digits_start..i)
            .unwrap_or("")
            .chars()
            .filter(|c| *c != '_')
            .collect();
        return i64::from_str_radix(&digits, radix)
            .map(|v| (Tok::Int(v), i))
            .map_err(|_| LexError {
                message: format!("bad number '{}'", src.get(start..i).unwrap_or("")),
                at: start,
            });
    }
    let mut is_float = false;
    while bytes.get(i).is_some_and(|b| b.is_ascii_digit() || *b == b'_') {
        i += 1;
    }
    if bytes.get(i) == Some(&b'.')
        && !bytes
            .get(i + 1)
            .is_some_and(|b| b.is_ascii_alphabetic() || *b == b'_')
    {
        is_float = true;
        i += 1;
        while bytes.get(i).is_some_and(|b| b.is_ascii_digit() || *b == b'_') {
            i += 1;
        }
    }
    if bytes.get(i).is_some_and(|b| *b == b'e' || *b == b'E') {
        let mut j = i + 1;
        if bytes.get(j).is_some_and(|b| *b == b'+' || *b == b'-') {
            j += 1;
        }
        if bytes.get(j).is_some_and(u8::is_ascii_digit) {
            is_float = true;
            i = j;
            while bytes.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
        }
    }
    let text: String = src
        .get(start..i)
        .unwrap_or("")
        .chars()
        .filter(|c| *c != '_')
        .collect();
    if bytes.get(i).is_some_and(|b| b.is_ascii_alphabetic()) {
        return Err(LexError {
            message: format!("bad number '{}…'", src.get(start..=i).unwrap_or("")),
            at: start,
        });
    }
    if is_float {
        text.parse::<f64>()
            .map(|v| (Tok::Float(v), i))
            .map_err(|_| LexError {
                message: format!("bad number '{text}'"),
                at: start,
            })
    } else {
        match text.parse::<i64>() {
            Ok(v) => Ok((Tok::Int(v), i)),
            Err(_) => Err(LexError {
                message: format!("integer {text} does not fit in 64 bits"),
                at: start,
            }),
        }
    }
}

fn string(src: &str, start: usize, quote: u8) -> Result<(String, usize), LexError> {
    let mut out = String::new();
    let mut chars = src.get(start + 1..).unwrap_or("").char_indices();
    while let Some((off, ch)) = chars.next() {
        let pos = start + 1 + off;
        if ch == quote as char {
            return Ok((out, pos + 1));
        }
        if ch == '\n' {
            return Err(LexError {
                message: "unterminated string".into(),
                at: start,
            });
        }
        if ch != '\\' {
            out.push(ch);
            continue;
        }
        let Some((_, esc)) = chars.next() else { break };
        match esc {
            'n' => out.push('\n'),
            't' => out.push('\t'),
            'r' => out.push('\r'),
            '0' => out.push('\0'),
            '\\' => out.push('\\'),
            '\'' => out.push('\''),
            '"' => out.push('"'),
            'u' | 'x' => {
                let len = if esc == 'x' { 2 } else { 4 };
                let mut hex = String::new();
                for _ in 0..len {
                    match chars.next() {
                        Some((_, h)) if h.is_ascii_hexdigit() => hex.push(h),
                        _ => {
                            return Err(LexError {
                                message: format!("bad \\{esc} escape"),
                                at: pos,
                            })
                        }
                    }
                }
                let code = u32::from_str_radix(&hex, 16).unwrap_or(0xfffd);
                out.push(char::from_u32(code).unwrap_or('\u{fffd}'));
            }
            other => {
                out.push('\\');
                out.push(other);
            }
        }
    }
    Err(LexError {
        message: "unterminated string".into(),
        at: start,
    })
}
