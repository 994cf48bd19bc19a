//! Validation of free text typed by users (names, notes, reasons, search terms).
//!
//! Markup is not stripped here: every screen escapes text when it renders it.
//! What is refused is what no screen can show well: empty text, text over the
//! limit, and control characters (other than newlines where allowed).

use crate::problem::{Problem, TextField};
use serde::{Deserialize, Serialize};

/// Why a piece of text was refused; the message names the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum TextError {
    /// Empty after trimming white space.
    #[error("{field:?} must not be empty")]
    Empty {
        /// Which field.
        field: TextField,
    },
    /// Longer than allowed, counted in characters (not bytes).
    #[error("{field:?} can be at most {max} characters")]
    TooLong {
        /// Which field.
        field: TextField,
        /// The limit in characters.
        max: usize,
    },
    /// Holds control characters.
    #[error("{field:?} contains characters that are not allowed")]
    ControlCharacters {
        /// Which field.
        field: TextField,
    },
}

/// Trims `input` and checks it holds 1..=`max_chars` characters with no control
/// characters; `multiline` allows `\n` (and `\r\n`, normalised to `\n`).
pub fn clean_text(input: &str, field: TextField, max_chars: usize, multiline: bool) -> Result<String, TextError> {
    let normalised = input.replace("\r\n", "\n");
    let trimmed = normalised.trim();
    if trimmed.is_empty() {
        return Err(TextError::Empty { field });
    }
    if trimmed.chars().count() > max_chars {
        return Err(TextError::TooLong { field, max: max_chars });
    }
    if trimmed.chars().any(|c| c.is_control() && !(multiline && c == '\n')) {
        return Err(TextError::ControlCharacters { field });
    }
    Ok(trimmed.to_string())
}

/// The longest search term the store list accepts, in characters.
pub const MAX_SEARCH_CHARS: usize = crate::limits::SEARCH_CHARS;

/// Normalises a search box entry: `None` when blank, otherwise the trimmed text
/// cut to [`MAX_SEARCH_CHARS`] with control characters removed. Searching never
/// fails: a shortened term still searches.
pub fn search_term(input: Option<&str>) -> Option<String> {
    let cleaned: String = input?
        .chars()
        .filter(|c| !c.is_control())
        .collect::<String>()
        .trim()
        .chars()
        .take(MAX_SEARCH_CHARS)
        .collect();
    (!cleaned.is_empty()).then_some(cleaned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_and_accepts_normal_text() {
        assert_eq!(
            clean_text("  덜 맵게 해주세요 ", TextField::Note, 200, false),
            Ok("덜 맵게 해주세요".into())
        );
    }

    #[test]
    fn refuses_empty_long_and_control_text() {
        assert_eq!(
            clean_text("   ", TextField::Note, 10, false),
            Err(TextError::Empty { field: TextField::Note })
        );
        assert_eq!(
            clean_text("가나다라마바사아자차카", TextField::Note, 10, false),
            Err(TextError::TooLong {
                field: TextField::Note,
                max: 10
            })
        );
        assert_eq!(
            clean_text("a\u{0}b", TextField::Note, 10, false),
            Err(TextError::ControlCharacters { field: TextField::Note })
        );
        assert_eq!(
            clean_text("a\nb", TextField::Note, 10, false),
            Err(TextError::ControlCharacters { field: TextField::Note })
        );
        assert_eq!(clean_text("a\r\nb", TextField::Note, 10, true), Ok("a\nb".into()));
    }

    #[test]
    fn search_terms_are_normalised_never_refused() {
        assert_eq!(search_term(None), None);
        assert_eq!(search_term(Some("   ")), None);
        assert_eq!(search_term(Some(" 치킨 ")), Some("치킨".into()));
        let long = "가".repeat(200);
        assert_eq!(
            search_term(Some(&long)).map(|s| s.chars().count()),
            Some(MAX_SEARCH_CHARS)
        );
        assert_eq!(search_term(Some("a\u{7}b")), Some("ab".into()));
    }
}

/// A problem with one field of a submitted form, shown next to that field
/// in the reader's language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    /// The form field's `name`, e.g. `"email"`.
    pub field: String,
    /// What is wrong.
    pub problem: Problem,
}

impl FieldError {
    /// `problem` with `field`.
    pub fn new(field: &str, problem: impl Into<Problem>) -> FieldError {
        FieldError {
            field: field.into(),
            problem: problem.into(),
        }
    }
}
