//! Where the app sends people (issue 15, item 1): every redirect target is a
//! validated path on this site, and anything else becomes `/`.
//!
//! `leptos_axum::redirect` builds its `Location` header with `expect`, so a
//! target carrying a control character (`/orders/%0A` decoded, or a `next=`
//! typed by a stranger) used to panic the request. Targets now pass through
//! [`local_path`] first, and a `next=` is percent-encoded when it is built.

use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};

/// The longest redirect target kept, in bytes; a longer one becomes `/`.
pub const MAX_TARGET_BYTES: usize = 512;

/// What a value inside a query string must not carry raw: the separators
/// (`&`, `=`, `+`, `#`, `%`), spaces, quotes and angle brackets, controls and
/// everything outside ASCII. Slashes stay readable (`next=/owner/stores/1`).
const QUERY_VALUE: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'&')
    .add(b'+')
    .add(b'<')
    .add(b'=')
    .add(b'>')
    .add(b'?')
    .add(b'\\')
    .add(b'`')
    .add(b'\'');

/// `text` made safe to stand as one query value or path segment in a URL
/// this app builds (slashes are kept).
pub fn encode_component(text: &str) -> String {
    utf8_percent_encode(text, QUERY_VALUE).to_string()
}

/// `target` when it is a path on this site that a `Location` header can
/// carry: it starts with one `/` (never `//host`, never a scheme), holds only
/// visible ASCII (browsers percent-encode the rest), no backslash (which some
/// browsers read as `/`), and is at most [`MAX_TARGET_BYTES`] long.
pub fn local_path(target: &str) -> Option<&str> {
    let target = target.trim();
    let ok = target.starts_with('/')
        && !target.starts_with("//")
        && target.len() <= MAX_TARGET_BYTES
        && target.bytes().all(|b| b.is_ascii_graphic() && b != b'\\');
    ok.then_some(target)
}

/// The login page, coming back to `here` afterwards (when `here` is a local
/// path; the role's home otherwise).
pub fn login_then(here: &str) -> String {
    match local_path(here) {
        Some(path) => format!("/login?next={}", encode_component(path)),
        None => "/login".to_string(),
    }
}

/// Redirects the current server function call or page render to `target`,
/// or to `/` when `target` is not a [`local_path`]. The only way this app
/// redirects on the server.
#[cfg(feature = "ssr")]
pub fn redirect(target: &str) {
    let safe = local_path(target).unwrap_or_else(|| {
        tracing::warn!("refused a redirect target that is not a local path");
        "/"
    });
    leptos_axum::redirect(safe);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_paths_stay_and_everything_else_goes() {
        assert_eq!(local_path("/owner"), Some("/owner"));
        assert_eq!(local_path(" /orders/12 "), Some("/orders/12"));
        assert_eq!(local_path("/checkout?store=3"), Some("/checkout?store=3"));
        assert_eq!(local_path("/checkout?store=%0A"), Some("/checkout?store=%0A"));
        for bad in [
            "",
            "owner",
            "//evil.example/x",
            "https://evil.example",
            "/\\evil.example",
            "/a\nb",
            "/a\rLocation: x",
            "/a\u{0}b",
            "/주문",
            "/a b",
        ] {
            assert_eq!(local_path(bad), None, "{bad:?}");
        }
        assert_eq!(local_path(&format!("/{}", "a".repeat(MAX_TARGET_BYTES))), None);
    }

    #[test]
    fn login_then_carries_any_page_as_a_header_safe_next() {
        assert_eq!(login_then("/owner/stores/1"), "/login?next=/owner/stores/1");
        assert_eq!(login_then("/checkout?store=3"), "/login?next=/checkout%3Fstore%3D3");
        assert_eq!(login_then("/orders/\n"), "/login?next=/orders/", "trimmed");
        assert_eq!(login_then("/orders/\u{0}1"), "/login");
        assert_eq!(login_then("//evil.example"), "/login");
        let built = format!("/checkout?store={}", encode_component("\n&x=1 치킨"));
        assert_eq!(built, "/checkout?store=%0A%26x%3D1%20%EC%B9%98%ED%82%A8");
        assert!(local_path(&login_then(&built)).is_some(), "{}", login_then(&built));
    }
}
