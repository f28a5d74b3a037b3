//! Reading torch's `version.py`. Shared by build.rs (the version linked) and `device`
//! (the version loaded), so both read it the same way.

/// `__version__ = '2.13.0+cu130'` -> `2.13.0+cu130`.
pub fn parse_version_py(text: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let rest = line
            .trim()
            .strip_prefix("__version__")?
            .trim_start()
            .strip_prefix('=')?;
        Some(
            rest.trim()
                .trim_matches(|c| c == '\'' || c == '"')
                .to_string(),
        )
    })
}
