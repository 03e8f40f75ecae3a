//! Deb822 control-file stanzas, as dpkg's `status` and distroless
//! `status.d/*` files hold them: `Field: value` lines, continuation lines
//! starting with a space or tab, stanzas separated by blank lines.

use super::CatalogError;

/// One stanza: its fields in order, continuation lines joined with `\n`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Stanza {
    fields: Vec<(String, String)>,
    /// 1-based line where the stanza starts.
    pub line: usize,
}

impl Stanza {
    /// The value of `name` (field names compare case-insensitively).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Splits `text` into stanzas. Lines that are neither fields nor
/// continuations are an error naming the line.
pub fn parse_stanzas(text: &str) -> Result<Vec<Stanza>, CatalogError> {
    let mut stanzas = Vec::new();
    let mut current = Stanza::default();
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        if line.trim().is_empty() {
            if !current.fields.is_empty() {
                stanzas.push(std::mem::take(&mut current));
            }
            continue;
        }
        if line.starts_with(' ') || line.starts_with('\t') {
            let Some((_, value)) = current.fields.last_mut() else {
                return Err(CatalogError::Line {
                    line: number,
                    reason: "continuation line outside a field",
                });
            };
            value.push('\n');
            value.push_str(line.trim());
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        let Some((name, value)) = line.split_once(':') else {
            return Err(CatalogError::Line {
                line: number,
                reason: "expected `Field: value`",
            });
        };
        if current.fields.is_empty() {
            current.line = number;
        }
        current
            .fields
            .push((name.trim().to_string(), value.trim().to_string()));
    }
    if !current.fields.is_empty() {
        stanzas.push(current);
    }
    Ok(stanzas)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stanzas_fields_and_continuations() {
        let text = "Package: a\nDescription: short\n long one\n .\n\n\nPackage: b\nversion: 2\n";
        let stanzas = parse_stanzas(text).unwrap();
        assert_eq!(stanzas.len(), 2);
        assert_eq!(stanzas[0].get("description"), Some("short\nlong one\n."));
        assert_eq!(stanzas[1].get("Version"), Some("2"));
        assert_eq!(stanzas[1].line, 7);
        assert_eq!(
            parse_stanzas(" orphan\n").unwrap_err().to_string(),
            "line 1: continuation line outside a field"
        );
        assert!(parse_stanzas("no colon here\n").is_err());
        assert_eq!(
            parse_stanzas("x: 1\nno colon here\n").unwrap_err(),
            CatalogError::Line {
                line: 2,
                reason: "expected `Field: value`"
            }
        );
    }
}
