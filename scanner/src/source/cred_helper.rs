//! Docker credential helpers: `docker-credential-NAME get` is run with the
//! registry's server address on its standard input and prints
//! `{"ServerURL", "Username", "Secret"}` (user name `<token>`: the secret
//! is an identity token). The helper must answer within a timeout; its
//! failures are reported by its name and exit status and its first line
//! of output (a helper's answer when it has nothing — "credentials not
//! found" — is no credentials), never with a secret.

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Most bytes of a helper's output read.
const MAX_OUTPUT: u64 = 1 << 20;

/// What a helper prints, as the Docker credential-helper protocol says.
#[derive(serde::Deserialize)]
pub(crate) struct HelperAnswer {
    /// The user name (`<token>` for an identity token).
    #[serde(rename = "Username", default)]
    pub username: String,
    /// The password or token.
    #[serde(rename = "Secret", default)]
    pub secret: String,
}

/// A credential helper that failed (never with the secret in `reason`).
#[derive(Debug, thiserror::Error)]
#[error("credential helper `{helper}`: {reason}")]
pub struct HelperError {
    /// `docker-credential-NAME`.
    pub helper: String,
    /// What went wrong.
    pub reason: String,
}

/// Asks `docker-credential-{name}` for the credentials of `server`.
/// `Ok(None)` when it has none.
pub(crate) fn get(
    name: &str,
    server: &str,
    timeout: Duration,
) -> Result<Option<HelperAnswer>, HelperError> {
    let program = format!("docker-credential-{name}");
    let failed = |reason: String| HelperError {
        helper: program.clone(),
        reason,
    };
    let mut child = Command::new(&program)
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            failed(match e.kind() {
                std::io::ErrorKind::NotFound => "not found on PATH".to_string(),
                _ => format!("cannot be run: {e}"),
            })
        })?;
    let mut stdin = child.stdin.take().expect("stdin is piped");
    // A helper that exits without reading closes the pipe: not our error.
    let _ = stdin.write_all(server.as_bytes());
    drop(stdin);
    let collect = |stream: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(stream) = stream {
                let _ = stream.take(MAX_OUTPUT).read_to_end(&mut bytes);
            }
            bytes
        })
    };
    let stdout = collect(
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
    );
    let stderr = collect(
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
    );
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(failed(format!(
                    "gave no answer within {} s",
                    timeout.as_secs_f64()
                )));
            }
            Err(e) => return Err(failed(format!("cannot be waited for: {e}"))),
        }
    };
    let stdout = stdout.join().unwrap_or_default();
    let stderr = stderr.join().unwrap_or_default();
    if !status.success() {
        let said = first_line(&stdout).or_else(|| first_line(&stderr));
        if said
            .as_deref()
            .is_some_and(|s| s.to_ascii_lowercase().contains("credentials not found"))
        {
            return Ok(None);
        }
        return Err(failed(match said {
            Some(said) => format!("failed ({status}): {said}"),
            None => format!("failed ({status})"),
        }));
    }
    let answer: HelperAnswer = serde_json::from_slice(&stdout)
        .map_err(|_| failed("did not print the JSON of the credential-helper protocol".into()))?;
    if answer.username.is_empty() && answer.secret.is_empty() {
        return Ok(None);
    }
    Ok(Some(answer))
}

/// The first non-empty line of a helper's output, trimmed and bounded.
fn first_line(output: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(output);
    let line = text.lines().map(str::trim).find(|l| !l.is_empty())?;
    // JSON could be an answer with a secret in it: never repeated.
    (!line.starts_with('{')).then(|| line.chars().take(200).collect())
}
