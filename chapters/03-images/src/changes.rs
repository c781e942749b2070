//! `-c/--change`: the Dockerfile instructions `import` (and later `commit`)
//! apply to an image's configuration.

use std::collections::HashMap;

use berth_engine::{Error, Result};
use oci_spec::image::Config;

use crate::reference::Reference;

/// What `import` and `commit` are asked to make: the optional
/// `REPOSITORY[:TAG]` (tag `latest` by default) and the configuration the
/// `-c` instructions describe, both checked before anything is written.
pub fn new_image_request(
    repository: Option<&str>,
    changes: &[String],
) -> Result<(Option<Reference>, Config)> {
    let name = repository
        .map(Reference::parse)
        .transpose()?
        .map(|r| r.with_default_tag());
    let mut config = Config::default();
    for change in changes {
        apply_change(&mut config, change).map_err(|e| e.code(1))?;
    }
    Ok((name, config))
}

// ANCHOR: apply_change
/// Applies one `-c` instruction (`CMD ["sh"]`, `ENV A=1`, `EXPOSE 80`…) to `config`.
pub fn apply_change(config: &mut Config, change: &str) -> Result<()> {
    let change = change.trim();
    let (keyword, rest) = change
        .split_once(char::is_whitespace)
        .unwrap_or((change, ""));
    let rest = rest.trim();
    match keyword.to_ascii_uppercase().as_str() {
        "CMD" => {
            config.set_cmd(Some(command_form(rest)?));
        }
        "ENTRYPOINT" => {
            config.set_entrypoint(Some(command_form(rest)?));
        }
        "ENV" => {
            let mut env = config.env().clone().unwrap_or_default();
            for (key, value) in key_values(rest, "ENV")? {
                env.retain(|e| e.split_once('=').map_or(e.as_str(), |(k, _)| k) != key);
                env.push(format!("{key}={value}"));
            }
            config.set_env(Some(env));
        }
        "LABEL" => {
            let mut labels = config.labels().clone().unwrap_or_default();
            labels.extend(key_values(rest, "LABEL")?);
            config.set_labels(Some(labels));
        }
        "EXPOSE" => {
            let mut ports = config.exposed_ports().clone().unwrap_or_default();
            for port in rest.split_whitespace() {
                ports.push(if port.contains('/') {
                    port.to_string()
                } else {
                    format!("{port}/tcp")
                });
            }
            config.set_exposed_ports(Some(ports));
        }
        "VOLUME" => {
            let mut volumes = config.volumes().clone().unwrap_or_default();
            let list = if rest.starts_with('[') {
                json_list(rest)?
            } else {
                words(rest)?
            };
            volumes.extend(list);
            config.set_volumes(Some(volumes));
        }
        "USER" => {
            config.set_user(Some(rest.to_string()));
        }
        "WORKDIR" => {
            config.set_working_dir(Some(rest.to_string()));
        }
        "ONBUILD" | "HEALTHCHECK" => {
            return Err(Error::usage(format!(
                "{keyword} is not supported by berth's image format"
            ))
            .hint("berth stores OCI image configs, which have no field for it"));
        }
        _ => {
            return Err(
                Error::usage(format!("{keyword} is not a valid change command"))
                    .hint("use CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, USER, VOLUME or WORKDIR"),
            );
        }
    }
    Ok(())
}
// ANCHOR_END: apply_change

/// `["a", "b"]` (exec form) as is; anything else (shell form) through `/bin/sh -c`.
fn command_form(text: &str) -> Result<Vec<String>> {
    if text.starts_with('[') {
        json_list(text)
    } else {
        Ok(vec!["/bin/sh".into(), "-c".into(), text.into()])
    }
}

fn json_list(text: &str) -> Result<Vec<String>> {
    serde_json::from_str(text).map_err(|e| {
        Error::usage(format!("{text}: not a JSON list of strings: {e}"))
            .hint(r#"write it as ["executable", "arg"]"#)
    })
}

fn words(text: &str) -> Result<Vec<String>> {
    shell_words::split(text).map_err(|e| Error::usage(format!("{text}: {e}")))
}

/// `K=V K2="V 2"`, or the old single form `K V W` (one key, the rest its value).
fn key_values(text: &str, keyword: &str) -> Result<HashMap<String, String>> {
    let words = words(text)?;
    let missing = || {
        Error::usage(format!("{keyword} needs a name and a value"))
            .hint(format!("write {keyword} KEY=VALUE"))
    };
    if words.is_empty() {
        return Err(missing());
    }
    if !words[0].contains('=') {
        let (key, value) = text.split_once(char::is_whitespace).ok_or_else(missing)?;
        return Ok(HashMap::from([(key.to_string(), value.trim().to_string())]));
    }
    words
        .iter()
        .map(|w| {
            w.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .ok_or_else(missing)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn applied(changes: &[&str]) -> Result<Config> {
        let mut config = Config::default();
        for c in changes {
            apply_change(&mut config, c)?;
        }
        Ok(config)
    }

    #[test]
    fn cmd_in_exec_and_shell_form() {
        let c = applied(&[r#"CMD ["/bin/httpd","-f","-h","/data/html"]"#]).unwrap();
        assert_eq!(
            c.cmd().as_deref().unwrap(),
            ["/bin/httpd", "-f", "-h", "/data/html"]
        );
        let c = applied(&["cmd echo hi"]).unwrap();
        assert_eq!(c.cmd().as_deref().unwrap(), ["/bin/sh", "-c", "echo hi"]);
    }

    #[test]
    fn env_label_expose_user_workdir_volume() {
        let c = applied(&[
            "ENV A=1 B=\"two words\"",
            "ENV A=3",
            "ENV OLD style value",
            "LABEL k=v",
            "EXPOSE 80 53/udp",
            "USER app",
            "WORKDIR /srv",
            r#"VOLUME ["/data"]"#,
        ])
        .unwrap();
        assert_eq!(
            c.env().as_deref().unwrap(),
            ["B=two words", "A=3", "OLD=style value"]
        );
        assert_eq!(c.labels().as_ref().unwrap()["k"], "v");
        assert_eq!(c.exposed_ports().as_deref().unwrap(), ["80/tcp", "53/udp"]);
        assert_eq!(c.user().as_deref(), Some("app"));
        assert_eq!(c.working_dir().as_deref(), Some("/srv"));
        assert_eq!(c.volumes().as_deref().unwrap(), ["/data"]);
    }

    #[test]
    fn instructions_docker_rejects_are_rejected() {
        for bad in [
            "STOPSIGNAL 9",
            "SHELL [\"sh\"]",
            "ARG x",
            "RUN true",
            "FROM scratch",
        ] {
            let e = applied(&[bad]).unwrap_err();
            assert!(
                e.message().contains("is not a valid change command"),
                "{bad}: {e}"
            );
        }
        assert!(applied(&["ENV"]).is_err());
        assert!(applied(&["CMD [\"unterminated"]).is_err());
    }
}
