//! Reading the verdict off the console: the guest prints `VMTEST …` lines.
//!
//! ```text
//! VMTEST INIT 1.93                  init started, at this guest uptime (seconds)
//! VMTEST PASS memory_max
//! VMTEST PASS cpu_quota_half_a_core: 51     a pass may carry what it measured
//! VMTEST FAIL oom_exit_code: want 137, got 1
//! VMTEST DONE                       every check ran
//! ```

/// One line the guest printed about the test run.
#[derive(Debug, PartialEq)]
pub enum Event {
    /// PID 1 started; the guest's uptime then, as printed.
    Init(String),
    /// A check passed.
    Pass {
        /// The check's name.
        name: String,
        /// What it measured, when it says.
        detail: String,
    },
    /// A check failed, with what went wrong.
    Fail {
        /// The check's name.
        name: String,
        /// What it saw.
        detail: String,
    },
    /// The checks are over.
    Done,
}

/// The event on a console line, if any.
///
/// The marker is searched anywhere in the line, because a kernel message may land on
/// the same console line before it.
pub fn parse_line(line: &str) -> Option<Event> {
    let (_, rest) = line.split_once("VMTEST ")?;
    let rest = rest.trim_end();
    let (word, tail) = rest.split_once(' ').unwrap_or((rest, ""));
    match word {
        "INIT" => Some(Event::Init(tail.trim().to_string())),
        "PASS" | "FAIL" => {
            let (name, detail) = tail.split_once(':').unwrap_or((tail, ""));
            let (name, detail) = (name.trim().to_string(), detail.trim().to_string());
            if name.is_empty() {
                None
            } else if word == "PASS" {
                Some(Event::Pass { name, detail })
            } else {
                Some(Event::Fail { name, detail })
            }
        }
        "DONE" => Some(Event::Done),
        _ => None,
    }
}

/// The outcome of a whole run.
#[derive(Debug, Default)]
pub struct Summary {
    /// Names of the checks that passed.
    pub passed: Vec<String>,
    /// Names and details of the checks that failed.
    pub failed: Vec<(String, String)>,
    /// Whether the guest said all checks ran.
    pub done: bool,
}

impl Summary {
    /// Adds one event.
    pub fn record(&mut self, event: &Event) {
        match event {
            Event::Init(_) => {}
            Event::Pass { name, .. } => self.passed.push(name.clone()),
            Event::Fail { name, detail } => self.failed.push((name.clone(), detail.clone())),
            Event::Done => self.done = true,
        }
    }

    /// True when the run proves something: checks ran to the end, none failed, some passed.
    pub fn succeeded(&self) -> bool {
        self.done && self.failed.is_empty() && !self.passed.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pass(name: &str, detail: &str) -> Event {
        Event::Pass {
            name: name.into(),
            detail: detail.into(),
        }
    }

    #[test]
    fn markers_are_recognised_even_after_kernel_noise() {
        assert_eq!(
            parse_line("VMTEST PASS cgroup2_only"),
            Some(pass("cgroup2_only", ""))
        );
        assert_eq!(
            parse_line("VMTEST PASS cpu_percent: 51\r"),
            Some(pass("cpu_percent", "51"))
        );
        assert_eq!(
            parse_line("[    3.1] random: crng init doneVMTEST DONE\r"),
            Some(Event::Done)
        );
        assert_eq!(
            parse_line("VMTEST INIT 1.93"),
            Some(Event::Init("1.93".into()))
        );
        assert_eq!(
            parse_line("VMTEST FAIL oom_exit_code: want 137: got 1"),
            Some(Event::Fail {
                name: "oom_exit_code".into(),
                detail: "want 137: got 1".into()
            })
        );
    }

    #[test]
    fn other_lines_are_not_events() {
        assert_eq!(parse_line("Run /init as init process"), None);
        assert_eq!(parse_line("VMTEST PASS"), None, "a pass needs a name");
        assert_eq!(
            parse_line("VMTEST FAIL : detail"),
            None,
            "a failure needs a name"
        );
        assert_eq!(parse_line("VMTEST MAYBE x"), None);
    }

    #[test]
    fn success_needs_done_no_failure_and_a_pass() {
        let mut summary = Summary::default();
        summary.record(&pass("a", ""));
        assert!(!summary.succeeded(), "not done yet");
        summary.record(&Event::Done);
        assert!(summary.succeeded());
        summary.record(&Event::Fail {
            name: "b".into(),
            detail: String::new(),
        });
        assert!(!summary.succeeded());
        let mut empty = Summary::default();
        empty.record(&Event::Done);
        assert!(!empty.succeeded(), "no check ran");
    }
}
