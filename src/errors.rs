//! How an error reads at the edges (the command line, the worker, the app's messages).

/// An error and its causes on one line, "what failed: why", leaving out a cause whose
/// text the message before it already holds. Our error types name their cause in their
/// own text (so `to_string()` alone says why) and also expose it as their source, so
/// anyhow's `{:#}` prints "run.json: No such file: No such file".
pub fn describe(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = String::new();
    let mut next = Some(error);
    while let Some(cause) = next {
        next = cause.source();
        let part = cause.to_string();
        if part.is_empty() || text.contains(&part) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&part);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("{path}: {source}")]
    struct Named {
        path: String,
        source: std::io::Error,
    }

    #[test]
    fn a_cause_already_in_the_message_is_not_repeated() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "No such file");
        let e = anyhow::Error::new(Named {
            path: "run/run.json".into(),
            source: io,
        });
        assert_eq!(format!("{e:#}"), "run/run.json: No such file: No such file");
        assert_eq!(describe(e.as_ref()), "run/run.json: No such file");
    }

    #[test]
    fn context_and_a_new_cause_are_both_kept() {
        let e = anyhow::anyhow!("disk full").context("writing out.csv");
        assert_eq!(describe(e.as_ref()), "writing out.csv: disk full");
    }
}
