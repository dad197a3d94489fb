//! `${VAR}` expansion in string values. Only the variable's *name* ever appears in errors.

/// Why a value could not be expanded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InterpolateError {
    /// `${NAME}` where `NAME` is not set.
    Missing(String),
    /// `${` without `}`, or `${}` / a name with characters other than `A-Z a-z 0-9 _`.
    Malformed(String),
}

/// Replaces every `${NAME}` in `value` with `lookup(NAME)`. `$$` stands for a literal `$`.
/// A `$` not followed by `{` or `$` is kept as is.
pub fn interpolate(
    value: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<String, InterpolateError> {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(tail) = after.strip_prefix('{') {
            let Some(end) = tail.find('}') else {
                return Err(InterpolateError::Malformed(
                    "`${` without a closing `}`".to_string(),
                ));
            };
            let name = &tail[..end];
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(InterpolateError::Malformed(format!(
                    "`${{{name}}}` is not a valid variable reference (use letters, digits and `_`)"
                )));
            }
            match lookup(name) {
                Some(v) => out.push_str(&v),
                None => return Err(InterpolateError::Missing(name.to_string())),
            }
            rest = &tail[end + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        (name == "SET").then(|| "value".to_string())
    }

    #[test]
    fn expands_and_escapes() {
        assert_eq!(interpolate("plain", &env).unwrap(), "plain");
        assert_eq!(interpolate("${SET}", &env).unwrap(), "value");
        assert_eq!(interpolate("a-${SET}-b", &env).unwrap(), "a-value-b");
        assert_eq!(interpolate("$${SET}", &env).unwrap(), "${SET}");
        assert_eq!(interpolate("cost $5", &env).unwrap(), "cost $5");
    }

    #[test]
    fn reports_missing_and_malformed() {
        assert_eq!(
            interpolate("${NOPE}", &env),
            Err(InterpolateError::Missing("NOPE".into()))
        );
        assert!(matches!(
            interpolate("${SET", &env),
            Err(InterpolateError::Malformed(_))
        ));
        assert!(matches!(
            interpolate("${}", &env),
            Err(InterpolateError::Malformed(_))
        ));
        assert!(matches!(
            interpolate("${A B}", &env),
            Err(InterpolateError::Malformed(_))
        ));
    }
}
