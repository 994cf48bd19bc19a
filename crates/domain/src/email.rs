//! Email addresses as account logins.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A syntactically plausible email address, trimmed and lowercased.
///
/// Deliberately lenient (one `@`, a dotted domain, no spaces, at most 254
/// characters): the only real test of an address is mail reaching it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Email(String);

/// Why an email address was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("enter an email address like name@example.com")]
pub struct InvalidEmail;

impl Email {
    /// The longest address SMTP allows, in characters.
    pub const MAX_CHARS: usize = crate::limits::EMAIL_CHARS;

    /// Parses user input into an address.
    pub fn parse(input: &str) -> Result<Email, InvalidEmail> {
        let email = input.trim().to_lowercase();
        if email.is_empty() || email.chars().count() > Self::MAX_CHARS {
            return Err(InvalidEmail);
        }
        if email
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | ',' | ';' | '"'))
        {
            return Err(InvalidEmail);
        }
        let Some((local, domain)) = email.split_once('@') else {
            return Err(InvalidEmail);
        };
        let domain_ok =
            domain.contains('.') && !domain.contains('@') && domain.split('.').all(|label| !label.is_empty());
        if local.is_empty() || !domain_ok {
            return Err(InvalidEmail);
        }
        Ok(Email(email))
    }

    /// The address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_addresses_and_normalises_them() {
        assert_eq!(
            Email::parse("  Min.Jun+food@Example.co.KR ").map(|e| e.to_string()),
            Ok("min.jun+food@example.co.kr".into())
        );
    }

    #[test]
    fn refuses_what_cannot_be_an_address() {
        for bad in [
            "",
            "   ",
            "no-at-sign",
            "@example.com",
            "a@",
            "a@b",
            "a@b..com",
            "a@@b.com",
            "a b@c.com",
            "<a@b.com>",
            &format!("{}@b.com", "x".repeat(260)),
        ] {
            assert_eq!(Email::parse(bad), Err(InvalidEmail), "{bad:?}");
        }
    }
}
