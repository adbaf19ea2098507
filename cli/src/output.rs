//! Results on stdout: JSON (pretty on a terminal, one compact line otherwise) or `name: value`
//! text. Nothing else is ever written to stdout, so a pipe gets exactly one document.

use std::io::{IsTerminal, Write};

use serde_json::Value;

use crate::args::OutputFormat;
use crate::error::CliError;

/// Where and how results are printed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Output {
    format: OutputFormat,
    pretty: bool,
}

impl Output {
    /// Results in `format`; JSON is pretty when stdout is a terminal.
    pub(crate) fn new(format: OutputFormat) -> Self {
        Self {
            format,
            pretty: std::io::stdout().is_terminal(),
        }
    }

    /// Prints one result.
    ///
    /// A closed pipe (`grantline token | head -c0`) is not an error: the reader has what it
    /// wanted.
    pub(crate) fn print(&self, value: &Value) -> Result<(), CliError> {
        let text = self.render(value);
        let mut stdout = std::io::stdout().lock();
        match stdout
            .write_all(text.as_bytes())
            .and_then(|()| stdout.flush())
        {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
            Err(e) => Err(CliError::Internal(format!("cannot write to stdout: {e}"))),
        }
    }

    /// The text [`print`](Self::print) writes, ending in a newline.
    pub(crate) fn render(&self, value: &Value) -> String {
        match self.format {
            OutputFormat::Json if self.pretty => {
                let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
                text.push('\n');
                text
            }
            OutputFormat::Json => {
                let mut text = value.to_string();
                text.push('\n');
                text
            }
            OutputFormat::Text => text_lines(value),
        }
    }
}

/// `name: value` lines for an object (nested values as compact JSON), one line per item for an
/// array, the plain value otherwise.
fn text_lines(value: &Value) -> String {
    let scalar = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let mut out = String::new();
    match value {
        Value::Object(map) => {
            for (name, v) in map {
                out.push_str(name);
                out.push_str(": ");
                out.push_str(&scalar(v));
                out.push('\n');
            }
        }
        Value::Array(items) => {
            for v in items {
                out.push_str(&scalar(v));
                out.push('\n');
            }
        }
        other => {
            out.push_str(&scalar(other));
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn compact_json_is_one_line() {
        let output = Output {
            format: OutputFormat::Json,
            pretty: false,
        };
        let text = output.render(&json!({"a": 1, "b": {"c": [1, 2]}}));
        assert_eq!(text, "{\"a\":1,\"b\":{\"c\":[1,2]}}\n");
    }

    #[test]
    fn pretty_json_on_a_terminal() {
        let output = Output {
            format: OutputFormat::Json,
            pretty: true,
        };
        assert!(output.render(&json!({"a": 1})).contains("\n  \"a\": 1\n"));
    }

    #[test]
    fn text_is_name_value_lines() {
        let output = Output {
            format: OutputFormat::Text,
            pretty: false,
        };
        assert_eq!(
            output.render(&json!({"access_token": "at", "expires_in": 5, "x": {"y": true}})),
            "access_token: at\nexpires_in: 5\nx: {\"y\":true}\n"
        );
    }
}
