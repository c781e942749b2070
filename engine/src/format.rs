//! docker's `--format`: a Go template applied to each object a command lists.
//!
//! The template language is Go's `text/template` (the `gotmpl` crate), and the
//! data is a `serde_json::Value`, so `{{.Repository}}` reads a key of a JSON
//! object. On top of the language, docker adds three things this module adds too:
//!
//! - the functions docker registers: `json`, `join`, `split`, `lower`, `upper`,
//!   `title`, `pad`, `truncate`;
//! - a `table` prefix: `table {{.Repository}}\t{{.Tag}}` prints a header row
//!   (the same template run over the column names) and aligns the columns;
//! - the escapes `\t` and `\n` typed literally on a shell command line become
//!   a tab and a newline.

use std::io::Write;

use gotmpl::{Template, TemplateError, Value};
use serde::Serialize;
use serde_json::Value as Json;
use thiserror::Error;

use crate::error::Error;

/// The prefix that turns a template into a table with headers.
pub const TABLE_PREFIX: &str = "table";

/// What can go wrong with a `--format` template.
#[derive(Debug, Error)]
pub enum FormatError {
    /// The template does not parse.
    #[error("template parsing error: {reason}")]
    Parse {
        /// What the parser said.
        reason: String,
    },
    /// The template parsed but failed on an object.
    #[error("template: {reason}")]
    Execute {
        /// What went wrong.
        reason: String,
    },
    /// Writing the output failed.
    #[error("writing output: {source}")]
    Write {
        /// The system's error.
        #[from]
        source: std::io::Error,
    },
}

impl From<FormatError> for Error {
    fn from(e: FormatError) -> Self {
        let hint = match &e {
            FormatError::Parse { .. } | FormatError::Execute { .. } => {
                "write a Go template such as '{{.ID}}' or 'table {{.Repository}}\\t{{.Tag}}'"
            }
            FormatError::Write { .. } => "check where the output goes",
        };
        Error::failed(e.to_string()).hint(hint)
    }
}

// ANCHOR: format_parse
/// A parsed `--format`: a template, printed as lines or as a table.
pub struct Format {
    template: Template,
    table: bool,
}

impl Format {
    /// Parses what the user gave to `--format`. `json` alone means `{{json .}}`
    /// (docker 23 and later); `table` alone means the command's `default_table`.
    pub fn parse(spec: &str, default_table: &str) -> Result<Format, FormatError> {
        let spec = match spec.trim() {
            "json" => "{{json .}}",
            TABLE_PREFIX => default_table,
            _ => spec,
        };
        let (table, body) = match spec.strip_prefix(TABLE_PREFIX) {
            Some(rest) => (true, rest),
            None => (false, spec),
        };
        // docker trims the spaces left around the template once `table` is gone,
        // and turns the two escapes a shell passes through into real characters.
        let body = body
            .trim_matches(' ')
            .replace("\\t", "\t")
            .replace("\\n", "\n");
        let template = with_docker_functions(Template::new("format"))
            .parse(&body)
            .map_err(|e| FormatError::Parse {
                reason: e.to_string(),
            })?;
        Ok(Format { template, table })
    }
    // ANCHOR_END: format_parse

    /// Whether the output is a table with a header row.
    pub fn is_table(&self) -> bool {
        self.table
    }

    /// Runs the template on one object.
    pub fn render_one(&self, object: &Json) -> Result<String, FormatError> {
        let data = gotmpl::to_value(object).map_err(|e| FormatError::Execute {
            reason: e.to_string(),
        })?;
        self.template
            .execute_to_string(&data)
            .map_err(|e| FormatError::Execute {
                reason: e.to_string(),
            })
    }

    // ANCHOR: format_render
    /// Prints every object, one line each. A table first prints the template
    /// run over `headers` (field name → column title), then aligns the columns
    /// as docker does: minimum width 10, padding 3.
    pub fn render(
        &self,
        objects: &[Json],
        headers: &Json,
        out: &mut dyn Write,
    ) -> Result<(), FormatError> {
        let mut lines = String::new();
        if self.table {
            lines.push_str(&self.render_one(headers)?);
            lines.push('\n');
        }
        for object in objects {
            lines.push_str(&self.render_one(object)?);
            lines.push('\n');
        }
        if self.table {
            out.write_all(&crate::output::align(&lines)?)?;
        } else {
            out.write_all(lines.as_bytes())?;
        }
        Ok(())
    }
    // ANCHOR_END: format_render
}

/// Serialises `value` as Go's `json.Marshal` does: compact, with `<`, `>`, `&`,
/// U+2028 and U+2029 escaped, so that output matches docker's byte for byte.
pub fn go_json(value: &Json) -> String {
    go_escape(&value.to_string())
}

/// Serialises `value` as `docker inspect` prints it: indented by four spaces,
/// escaped as [`go_json`].
pub fn go_json_pretty(value: &impl Serialize) -> String {
    let mut bytes = Vec::new();
    let indent = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut serializer = serde_json::Serializer::with_formatter(&mut bytes, indent);
    value
        .serialize(&mut serializer)
        .expect("berth's inspect types serialise");
    go_escape(&String::from_utf8(bytes).expect("serde_json writes UTF-8"))
}

/// These characters appear in JSON output only inside strings, so replacing
/// them everywhere escapes exactly what Go escapes.
fn go_escape(json: &str) -> String {
    json.replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}

// ANCHOR: docker_functions
/// Registers the functions docker adds to Go's built-ins.
fn with_docker_functions(template: Template) -> Template {
    template
        .func("json", |args| {
            let value = one_arg("json", args)?;
            Ok(Value::from(go_json(&to_json(value))))
        })
        .func("join", |args| {
            let [list, separator] = two_args("join", args)?;
            let Value::List(items) = list else {
                return Err(type_error("join", "list", list));
            };
            let items: Vec<String> = items.iter().map(|item| item.to_string()).collect();
            Ok(Value::from(items.join(&separator.to_string())))
        })
        .func("split", |args| {
            let [text, separator] = two_args("split", args)?;
            let parts: Vec<Value> = text
                .to_string()
                .split(separator.to_string().as_str())
                .map(Value::from)
                .collect();
            Ok(Value::from(parts))
        })
        .func("lower", |args| {
            Ok(Value::from(
                one_arg("lower", args)?.to_string().to_lowercase(),
            ))
        })
        .func("upper", |args| {
            Ok(Value::from(
                one_arg("upper", args)?.to_string().to_uppercase(),
            ))
        })
        .func("title", |args| {
            Ok(Value::from(title(&one_arg("title", args)?.to_string())))
        })
        .func("pad", |args| {
            let [text, left, right] = three_args("pad", args)?;
            let spaces = |v: &Value| " ".repeat(v.as_int().unwrap_or(0).max(0) as usize);
            Ok(Value::from(format!(
                "{}{text}{}",
                spaces(left),
                spaces(right)
            )))
        })
        .func("truncate", |args| {
            let [text, length] = two_args("truncate", args)?;
            let length = length.as_int().unwrap_or(0).max(0) as usize;
            Ok(Value::from(
                text.to_string().chars().take(length).collect::<String>(),
            ))
        })
}
// ANCHOR_END: docker_functions

fn one_arg<'a>(name: &str, args: &'a [Value]) -> gotmpl::Result<&'a Value> {
    match args {
        [value] => Ok(value),
        _ => Err(arity_error(name, 1, args.len())),
    }
}

fn two_args<'a>(name: &str, args: &'a [Value]) -> gotmpl::Result<[&'a Value; 2]> {
    match args {
        [a, b] => Ok([a, b]),
        _ => Err(arity_error(name, 2, args.len())),
    }
}

fn three_args<'a>(name: &str, args: &'a [Value]) -> gotmpl::Result<[&'a Value; 3]> {
    match args {
        [a, b, c] => Ok([a, b, c]),
        _ => Err(arity_error(name, 3, args.len())),
    }
}

fn arity_error(name: &str, wanted: usize, got: usize) -> TemplateError {
    TemplateError::Exec(format!(
        "wrong number of args for {name}: want {wanted} got {got}"
    ))
}

fn type_error(name: &str, wanted: &str, got: &Value) -> TemplateError {
    TemplateError::Exec(format!(
        "{name}: expected a {wanted}, got {}",
        got.type_name()
    ))
}

/// Go's `strings.Title`: the first letter of every word upper-cased.
fn title(text: &str) -> String {
    let mut titled = String::with_capacity(text.len());
    let mut at_word_start = true;
    for c in text.chars() {
        if at_word_start {
            titled.extend(c.to_uppercase());
        } else {
            titled.push(c);
        }
        at_word_start = !c.is_alphanumeric() && c != '_' && c != '\'';
    }
    titled
}

/// A template value back as JSON, for the `json` function.
fn to_json(value: &Value) -> Json {
    match value {
        Value::Nil | Value::Function(_) => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Int(n) => Json::from(*n),
        Value::Uint(n) => Json::from(*n),
        Value::Float(f) => Json::from(*f),
        Value::String(s) => Json::String(s.to_string()),
        Value::List(items) => Json::Array(items.iter().map(to_json).collect()),
        Value::Map(map) => Json::Object(
            map.iter()
                .map(|(k, v)| (k.to_string(), to_json(v)))
                .collect(),
        ),
    }
}

/// A header row for a table: each field name mapped to its column title.
pub fn headers(pairs: &[(&str, &str)]) -> Json {
    Json::Object(
        pairs
            .iter()
            .map(|(field, title)| (field.to_string(), Json::from(*title)))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(spec: &str, objects: &[Json]) -> String {
        let headers = headers(&[
            ("Repository", "REPOSITORY"),
            ("Tag", "TAG"),
            ("ID", "IMAGE ID"),
        ]);
        let mut out = Vec::new();
        Format::parse(spec, "table {{.Repository}}\t{{.Tag}}")
            .unwrap()
            .render(objects, &headers, &mut out)
            .unwrap();
        String::from_utf8(out).unwrap()
    }

    fn busybox() -> Json {
        json!({"Repository": "busybox", "Tag": "latest", "ID": "3f57d9401f8d",
               "Labels": {"k": "v", "a": "b"}, "Names": ["x", "y"], "Size": 4261550})
    }

    #[test]
    fn a_field_per_line() {
        assert_eq!(
            run("{{.Repository}}", &[busybox(), busybox()]),
            "busybox\nbusybox\n"
        );
        assert_eq!(run("{{.Size}}", &[busybox()]), "4261550\n");
    }

    #[test]
    fn typed_escapes_become_tabs_without_alignment() {
        assert_eq!(
            run(r"{{.ID}}\t{{.Tag}}", &[busybox()]),
            "3f57d9401f8d\tlatest\n"
        );
    }

    #[test]
    fn table_prints_headers_and_aligns() {
        let alpine = json!({"Repository": "alpine", "Tag": "3.19", "ID": "x"});
        assert_eq!(
            run(r"table {{.Repository}}\t{{.Tag}}", &[busybox(), alpine]),
            "REPOSITORY   TAG\nbusybox      latest\nalpine       3.19\n"
        );
        assert_eq!(
            run("table", &[busybox()]),
            "REPOSITORY   TAG\nbusybox      latest\n"
        );
    }

    #[test]
    fn json_is_go_json() {
        let object = json!({"b": "<none>", "a": 1});
        assert_eq!(
            run("{{json .}}", std::slice::from_ref(&object)),
            "{\"a\":1,\"b\":\"\\u003cnone\\u003e\"}\n"
        );
        assert_eq!(
            run("json", &[object]),
            "{\"a\":1,\"b\":\"\\u003cnone\\u003e\"}\n"
        );
        assert_eq!(run("{{json .Names}}", &[busybox()]), "[\"x\",\"y\"]\n");
    }

    #[test]
    fn docker_functions() {
        let b = [busybox()];
        assert_eq!(run(r#"{{join .Names ","}}"#, &b), "x,y\n");
        assert_eq!(run(r#"{{index .Labels "k"}}"#, &b), "v\n");
        assert_eq!(run("{{upper .Repository}}", &b), "BUSYBOX\n");
        assert_eq!(run("{{.Repository | upper | lower}}", &b), "busybox\n");
        assert_eq!(run(r#"{{split "a:b" ":"}}"#, &b), "[a b]\n");
        assert_eq!(run(r#"{{title "hello world"}}"#, &b), "Hello World\n");
        assert_eq!(run("{{pad .Tag 1 2}}|", &b), " latest  |\n");
        assert_eq!(run("{{truncate .ID 4}}", &b), "3f57\n");
        assert_eq!(run("{{.Labels}}", &b), "map[a:b k:v]\n");
    }

    #[test]
    fn a_missing_field_prints_no_value() {
        assert_eq!(run("{{.Nothing}}", &[busybox()]), "<no value>\n");
    }

    #[test]
    fn bad_templates_are_refused() {
        assert!(matches!(
            Format::parse("{{.ID", "table"),
            Err(FormatError::Parse { .. })
        ));
        // Go refuses an unknown function when parsing; gotmpl when running.
        let unknown = Format::parse("{{nosuchfunc .ID}}", "table")
            .map_err(|e| e.to_string())
            .and_then(|f| f.render_one(&busybox()).map_err(|e| e.to_string()));
        assert!(unknown.unwrap_err().contains("nosuchfunc"));
        let err = Format::parse(r#"{{join .ID ","}}"#, "table")
            .unwrap()
            .render_one(&busybox())
            .unwrap_err();
        assert!(matches!(err, FormatError::Execute { .. }), "{err}");
    }

    #[test]
    fn pretty_json_is_indented_by_four() {
        assert_eq!(
            go_json_pretty(&json!([{"Cmd": ["a && b"]}])),
            "[\n    {\n        \"Cmd\": [\n            \"a \\u0026\\u0026 b\"\n        ]\n    }\n]"
        );
    }
}
