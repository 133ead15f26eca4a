//! The shape check of a request body and the translation of serde's refusals into the words a
//! caller can act on: where (the path of the field, found by walking the body to the position
//! serde stopped at) and what kind of value was expected.

use super::MAX_DEPTH;
use crate::error::{truncate, Error, Result, MAX_ECHO_CHARS};
use serde_json::error::Category;
use std::fmt::Write as _;

/// JSON's insignificant whitespace (RFC 8259 §2).
pub(super) fn is_whitespace(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// One open object or array, as the walk has reached it.
enum Frame {
    /// The byte range of the key last read, and whether its value has begun.
    Object { key: Option<(usize, usize)>, in_value: bool },
    Array { index: usize },
}

/// The index just past the string whose opening quote is at `open`, and where its content ends.
fn string_end(bytes: &[u8], open: usize) -> (usize, usize) {
    let mut i = open + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return (i, i + 1),
            _ => i += 1,
        }
    }
    (bytes.len(), bytes.len())
}

/// Walks `text` up to byte `until`: the objects and arrays open there, outermost first; `None`
/// as soon as they nest deeper than [`MAX_DEPTH`].
fn walk(text: &str, until: usize) -> Option<Vec<Frame>> {
    let bytes = text.as_bytes();
    let (mut frames, mut i) = (Vec::new(), 0);
    while i < until.min(bytes.len()) {
        match bytes[i] {
            b'"' => {
                let (content_end, next) = string_end(bytes, i);
                if let Some(Frame::Object { key, in_value: false }) = frames.last_mut() {
                    *key = Some((i + 1, content_end));
                }
                i = next;
                continue;
            }
            b'{' => frames.push(Frame::Object { key: None, in_value: false }),
            b'[' => frames.push(Frame::Array { index: 0 }),
            b'}' | b']' => drop(frames.pop()),
            b => separator(frames.last_mut(), b),
        }
        if frames.len() > MAX_DEPTH {
            return None;
        }
        i += 1;
    }
    Some(frames)
}

/// A `:` starts an object member's value; a `,` ends a member or an array element.
fn separator(top: Option<&mut Frame>, b: u8) {
    match (b, top) {
        (b':', Some(Frame::Object { in_value, .. })) => *in_value = true,
        (b',', Some(Frame::Object { in_value, .. })) => *in_value = false,
        (b',', Some(Frame::Array { index })) => *index += 1,
        _ => {}
    }
}

/// Refuses anything but one JSON object (before its fields are looked at) and nesting deeper
/// than [`MAX_DEPTH`] (before serde recurses into it).
pub(super) fn check_shape(text: &str) -> Result<()> {
    if text.bytes().find(|b| !is_whitespace(*b)) != Some(b'{') {
        return Err(Error::validation("the request body must be a JSON object"));
    }
    match walk(text, text.len()) {
        Some(_) => Ok(()),
        None => Err(Error::validation(format!("the request body nests deeper than {MAX_DEPTH} levels"))),
    }
}

/// `a.b[0].c`, cut to [`MAX_ECHO_CHARS`] characters (keys are caller input).
fn path(text: &str, frames: &[Frame]) -> String {
    let mut out = String::new();
    for frame in frames {
        match frame {
            Frame::Object { key: Some((start, end)), .. } => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(&text[*start..*end]);
            }
            Frame::Object { key: None, .. } => {}
            Frame::Array { index } => drop(write!(out, "[{index}]")),
        }
    }
    truncate(&out, MAX_ECHO_CHARS)
}

/// The byte offset just past what serde had read at 1-based `line`, `column`.
fn offset(text: &str, line: usize, column: usize) -> usize {
    let line_start = match line {
        0 | 1 => 0,
        n => text.match_indices('\n').nth(n - 2).map_or(text.len(), |(i, _)| i + 1),
    };
    (line_start + column).min(text.len())
}

/// serde's refusal of `text` as a 400 in a caller's words.
pub(super) fn refusal(text: &str, e: &serde_json::Error) -> Error {
    match e.classify() {
        Category::Data => {
            let frames = walk(text, offset(text, e.line(), e.column())).unwrap_or_default();
            let serde_message = e.to_string();
            let message = serde_message.strip_suffix(&format!(" at line {} column {}", e.line(), e.column())).unwrap_or(&serde_message);
            Error::validation(data_message(&path(text, &frames), message))
        }
        Category::Syntax | Category::Eof | Category::Io => Error::validation(format!("invalid JSON: {e}")),
    }
}

/// serde's data error `message` about the value at `path`, without its echo of the input or
/// its Rust type names.
fn data_message(path: &str, message: &str) -> String {
    let at = |what: &str| if path.is_empty() { what.to_owned() } else { format!("{path}: {what}") };
    let expected = message.rsplit_once(", expected ").map(|(_, expected)| expected);
    if message.starts_with("unknown field `") {
        return match expected {
            Some(list) => at(&format!("unknown field (expected {})", names(list))),
            None => at("unknown field"),
        };
    }
    if let Some(field) = message.strip_prefix("missing field `").and_then(|rest| rest.strip_suffix('`')) {
        return if path.is_empty() { format!("{field} is required") } else { format!("{path}.{field} is required") };
    }
    if message.starts_with("duplicate field `") {
        return at("given more than once");
    }
    if message.starts_with("unknown variant `") {
        return at(&format!("expected {}", expected.map(names).unwrap_or_default()));
    }
    match expected {
        Some(expected) => at(&format!("expected {}", kind(expected))),
        None => at("invalid value"),
    }
}

/// serde's list of expected names (`` `a` ``, `` `a` or `b` ``, `` one of `a`, `b`, `c` ``)
/// as `a` or `one of a, b, c`.
fn names(list: &str) -> String {
    let names: Vec<&str> = list.split('`').skip(1).step_by(2).collect();
    match names.as_slice() {
        [one] => (*one).to_owned(),
        many => format!("one of {}", many.join(", ")),
    }
}

/// What serde's `expected` (a Rust type name or serde's phrase for one) asks for, in JSON terms.
fn kind(expected: &str) -> &'static str {
    match expected {
        "a string" | "a borrowed string" | "a character" => "a string",
        "a boolean" => "true or false",
        "u8" => "a whole number 0..=255",
        "u16" => "a whole number 0..=65535",
        "u32" => "a whole number 0..=4294967295",
        "u64" | "u128" | "usize" => "a non-negative whole number",
        "i8" | "i16" | "i32" | "i64" | "i128" | "isize" => "a whole number",
        "f32" | "f64" => "a number",
        e if e.starts_with("a sequence") || e.starts_with("a tuple") || e.starts_with("tuple") => "an array",
        e if e.starts_with("an object") || e.starts_with("a map") || e.starts_with("struct ") => "an object",
        e if e.starts_with("enum ") || e.starts_with("variant ") => "a string",
        _ => "a valid value",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_walk_names_the_field_open_at_an_offset() {
        let text = r#"{"a":{"b":[1,{"c":2}]}}"#;
        let at = |until: usize| path(text, &walk(text, until).unwrap());
        assert_eq!(at(text.find("2").unwrap() + 1), "a.b[1].c");
        assert_eq!(at(text.find("1").unwrap() + 1), "a.b[0]");
        assert_eq!(at(text.len()), "");
    }

    #[test]
    fn quotes_and_brackets_inside_strings_are_not_structure() {
        let text = r#"{"k\"[{":"[[[{{{","n":["]",1]}"#;
        assert_eq!(path(text, &walk(text, text.rfind('1').unwrap() + 1).unwrap()), "n[1]");
    }

    #[test]
    fn rust_type_names_become_json_kinds() {
        for (message, want) in [
            ("invalid length 1, expected struct CreateKey with 2 elements", "x: expected an object"),
            ("invalid type: string \"a, expected u8\", expected u32", "x: expected a whole number 0..=4294967295"),
            ("invalid type: integer `5`, expected enum AuthorityType", "x: expected a string"),
            ("unknown variant `FOO`, expected `ROOT` or `INTERMEDIATE`", "x: expected one of ROOT, INTERMEDIATE"),
            ("unknown field `y`, there are no fields", "x: unknown field"),
            ("something custom", "x: invalid value"),
        ] {
            assert_eq!(data_message("x", message), want, "{message}");
        }
        assert_eq!(data_message("", "missing field `name`"), "name is required");
        assert_eq!(data_message("keySpec", "missing field `size`"), "keySpec.size is required");
    }

    #[test]
    fn offsets_count_bytes_from_the_start_of_the_line() {
        assert_eq!(offset("ab\ncd\nef", 3, 1), 7);
        assert_eq!(offset("ab", 1, 2), 2);
        assert_eq!(offset("ab", 9, 9), 2);
    }
}
