//! The one error type every command ends in: a message a user should read, an
//! optional hint saying what to do, and docker's exit code.

use std::fmt;

/// Exit codes as docker uses them.
pub mod exit {
    /// Every other failing command, after it processed its other arguments.
    pub const FAILED: i32 = 1;
    /// Flag and usage errors, and engine errors of `run` / `create`.
    pub const USAGE: i32 = 125;
    /// The container's command exists but cannot be executed.
    pub const CANNOT_EXECUTE: i32 = 126;
    /// The container's command was not found.
    pub const NOT_FOUND: i32 = 127;
}

/// An error with the message a user reads, what to do about it, and an exit code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    message: String,
    hint: Option<String>,
    code: i32,
}

/// The engine's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An engine or usage error: exit 125, as docker's `run` and `create` use.
    pub fn usage(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            hint: None,
            code: exit::USAGE,
        }
    }

    /// A failed command that is not `run`/`create`: exit 1.
    pub fn failed(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            hint: None,
            code: exit::FAILED,
        }
    }

    /// Adds what the user should do about it.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Replaces the exit code.
    pub fn code(mut self, code: i32) -> Self {
        self.code = code;
        self
    }

    /// The exit code this error ends the command with.
    pub fn exit_code(&self) -> i32 {
        self.code
    }

    /// The message without the hint.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Prefixes the message with context (`context: message`).
    pub fn context(mut self, context: impl fmt::Display) -> Self {
        self.message = format!("{context}: {}", self.message);
        self
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // One line, always: a multi-line message would break scripts that grep stderr.
        let one_line = |s: &str| s.replace('\n', " ");
        write!(f, "{}", one_line(&self.message))?;
        if let Some(hint) = &self.hint {
            write!(f, "; {}", one_line(hint))?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Self::usage(e.to_string())
    }
}

/// Attaches a context message to an `io::Result` (or any displayable error).
pub trait Context<T> {
    /// Turns the error into an engine [`Error`] whose message starts with `what`.
    fn context(self, what: impl FnOnce() -> String) -> Result<T>;
}

impl<T, E: fmt::Display> Context<T> for std::result::Result<T, E> {
    fn context(self, what: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|e| Error::usage(format!("{}: {e}", what())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_one_line_with_hint() {
        let e = Error::usage("bad\nthing").hint("do this");
        assert_eq!(e.to_string(), "bad thing; do this");
        assert_eq!(e.exit_code(), 125);
    }

    #[test]
    fn failed_exits_one() {
        assert_eq!(Error::failed("x").exit_code(), 1);
        assert_eq!(Error::failed("x").code(127).exit_code(), 127);
    }
}
