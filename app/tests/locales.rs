//! The two locales stay in step (issue 12): every key of `ko.json` is in
//! `en.json` and back, and a text with values names the same values in both.
//! leptos_i18n falls back to Korean for a key English lacks, with only a
//! build warning; this test makes it a failure.

// Tests stop at the first broken expectation, with its message.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};

/// Every leaf of a locale file as `"a.b.c" → text`.
fn leaves(file: &str) -> BTreeMap<String, String> {
    fn walk(prefix: &str, value: &serde_json::Value, out: &mut BTreeMap<String, String>) {
        match value {
            serde_json::Value::Object(map) => {
                for (key, inner) in map {
                    let path = if prefix.is_empty() {
                        key.clone()
                    } else {
                        format!("{prefix}.{key}")
                    };
                    walk(&path, inner, out);
                }
            }
            other => {
                out.insert(prefix.to_string(), other.as_str().unwrap_or_default().to_string());
            }
        }
    }
    let path = format!("{}/locales/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).expect(&path);
    let json: serde_json::Value = serde_json::from_str(&text).expect(&path);
    let mut out = BTreeMap::new();
    walk("", &json, &mut out);
    out
}

/// The `{{ name }}` values a text interpolates.
fn values(text: &str) -> BTreeSet<String> {
    text.split("{{")
        .skip(1)
        .filter_map(|rest| rest.split("}}").next())
        .map(|name| name.trim().to_string())
        .collect()
}

#[test]
fn korean_and_english_have_the_same_keys() {
    let ko = leaves("ko.json");
    let en = leaves("en.json");
    let only_ko: Vec<&String> = ko.keys().filter(|k| !en.contains_key(*k)).collect();
    let only_en: Vec<&String> = en.keys().filter(|k| !ko.contains_key(*k)).collect();
    assert!(only_ko.is_empty(), "missing in en.json: {only_ko:?}");
    assert!(only_en.is_empty(), "missing in ko.json: {only_en:?}");
    assert!(ko.len() > 100, "the locale files were read: {} keys", ko.len());
}

#[test]
fn every_text_names_the_same_values_in_both_languages_and_none_is_empty() {
    let ko = leaves("ko.json");
    let en = leaves("en.json");
    for (key, korean) in &ko {
        let english = &en[key];
        assert_eq!(values(korean), values(english), "{key}: {korean:?} vs {english:?}");
        assert!(
            !korean.trim().is_empty() && !english.trim().is_empty(),
            "{key} is empty"
        );
    }
}

#[test]
fn korean_texts_are_korean() {
    // A Korean text that is the English one copied over, or has no Hangul at
    // all, is a translation someone forgot. Symbols and values are allowed.
    let ko = leaves("ko.json");
    let en = leaves("en.json");
    let hangul = |s: &str| s.chars().any(|c| ('\u{AC00}'..='\u{D7A3}').contains(&c));
    let untranslated: Vec<&String> = ko
        .iter()
        .filter(|(key, text)| {
            let letters = text
                .split("{{")
                .map(|p| p.split("}}").last().unwrap_or(""))
                .collect::<String>();
            letters.chars().any(|c| c.is_ascii_alphabetic()) && !hangul(text) && en[*key] == **text
        })
        .map(|(key, _)| key)
        .collect();
    assert!(
        untranslated.is_empty(),
        "Korean texts still in English: {untranslated:?}"
    );
}
