//! Whole pages for visitors who are not logged in (issue 13: `GET
//! /stores/1` at 5,000 req/s and seed 001's siege test).
//!
//! The store list (`/`) and a store's menu (`/stores/{id}`) read the same
//! for every visitor without a session in the same language: the catalog
//! is the same for everyone, and nothing on them is anybody's own. Such a
//! page is rendered once and then served from memory under the catalog's
//! rules ([`catalog::StoreCache`]): until this process commits a catalog
//! write (an owner's edit, stock a checkout took, a review), and for
//! [`catalog::StoreCache::TRUST_MS`] milliseconds, which also bounds what
//! changes with the clock (a store opening or closing) and what another
//! replica wrote. When that time is up, one request renders the page again
//! while the others are still answered with the old copy, for at most
//! [`catalog::StoreCache::GRACE_MS`] milliseconds more (so a popular page
//! is not rendered by every request that arrives meanwhile).
//!
//! Each page still gets a fresh script nonce: the copy is kept cut at its
//! nonce and joined with a new one, in the body and in the
//! Content-Security-Policy (`app::page_security_policy`), so no two
//! responses share one (issue 15, item 10).
//!
//! Only a `GET` without a query string or a session cookie is answered from
//! memory, and only a 200 page that sets no cookie and is at most
//! [`MAX_PAGE_BYTES`] long, is kept.

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

/// A page in one language: its path and the language's code (`ko`, `en`).
type PageKey = (String, &'static str);

/// The pages kept for visitors without a session, and the database whose
/// catalog version says when they are stale. Clones share one cache.
#[derive(Clone)]
pub struct PageCache {
    db: db::Db,
    pages: catalog::StoreCache<Page, PageKey>,
    session_cookie: &'static str,
}

/// A rendered page cut at its nonce: `parts` joined with the nonce are the
/// body; `headers` are the response's but the policy, which names the nonce.
struct Page {
    headers: axum::http::HeaderMap,
    parts: Vec<Bytes>,
}

/// The largest page kept, in bytes (a menu page is about 10 KB); a larger
/// one is sent as it comes and not kept.
const MAX_PAGE_BYTES: usize = 1024 * 1024;

impl PageCache {
    /// An empty cache for the pages of the app on `db`, whose sessions
    /// travel in the cookie named `session_cookie`.
    pub fn new(db: db::Db, session_cookie: &'static str) -> PageCache {
        PageCache {
            db,
            pages: catalog::StoreCache::new(),
            session_cookie,
        }
    }

    /// The key of `request` when its page may come from memory: a `GET` of
    /// `/` or `/stores/{id}` with no query and no session cookie.
    fn key_of(&self, request: &Request) -> Option<PageKey> {
        if request.method() != Method::GET || request.uri().query().is_some() {
            return None;
        }
        let path = request.uri().path();
        let store_page = path
            .strip_prefix("/stores/")
            .is_some_and(|id| (1..=18).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_digit()));
        if path != "/" && !store_page {
            return None;
        }
        let headers = request.headers();
        let has_session = headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|cookies| cookies.split(';'))
            .any(|cookie| cookie.trim().split('=').next() == Some(self.session_cookie));
        if has_session {
            return None;
        }
        Some((path.to_string(), app::lang::code(app::lang::of_headers(headers))))
    }
}

/// Answers a cacheable request (see the module) from memory when its page
/// is current, else renders it and keeps it when it may be kept. When a
/// page has just expired and another request is rendering it again, the
/// expired copy answers meanwhile (`catalog::Lookup::Refreshing`: never
/// after a catalog write, never more than a second past its time). Other
/// requests pass through untouched. Counted in `page_cache_total` by
/// `outcome` (`hit`, `refreshing`, `miss`).
pub async fn serve(State(cache): State<PageCache>, request: Request, next: Next) -> Response {
    let Some(key) = cache.key_of(&request) else {
        return next.run(request).await;
    };
    match cache.pages.lookup(&cache.db, &key) {
        catalog::Lookup::Current(page) => {
            metrics::counter!("page_cache_total", "outcome" => "hit").increment(1);
            return page.response(&app::page_nonce());
        }
        catalog::Lookup::Refreshing(page) => {
            metrics::counter!("page_cache_total", "outcome" => "refreshing").increment(1);
            return page.response(&app::page_nonce());
        }
        catalog::Lookup::Read => {}
    }
    metrics::counter!("page_cache_total", "outcome" => "miss").increment(1);
    let stamp = catalog::StoreCache::<Page, PageKey>::stamp(&cache.db);
    let response = next.run(request).await;
    if response.status() != StatusCode::OK || response.headers().contains_key(header::SET_COOKIE) {
        return response;
    }
    let Some(nonce) = nonce_of(response.headers()) else {
        return response;
    };
    let (parts, body) = response.into_parts();
    let body = match read_up_to(body, MAX_PAGE_BYTES).await {
        Ok(Whole(body)) => body,
        // Too large to keep (a store list of thousands): sent as it comes.
        Ok(Longer(body)) => return Response::from_parts(parts, body),
        Err(()) => {
            // Cut off (the render failed mid-way), as the reader would have seen it.
            let mut refused = StatusCode::SERVICE_UNAVAILABLE.into_response();
            refused
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            return refused;
        }
    };
    let page = Page::cut(parts.headers.clone(), &body, &nonce);
    cache.pages.keep(key, stamp, Arc::new(page));
    Response::from_parts(parts, Body::from(body))
}

/// A body read up to a limit ([`read_up_to`]).
enum Read {
    /// All of it, within the limit.
    Whole(Bytes),
    /// Longer than the limit: the same body again, the part read first
    /// followed by the rest.
    Longer(Body),
}
use Read::{Longer, Whole};

/// Reads `body` whole when it is at most `limit` bytes long; a longer one
/// comes back unchanged for sending as it comes.
///
/// Errors: the body failed while being read.
async fn read_up_to(body: Body, limit: usize) -> Result<Read, ()> {
    use futures::StreamExt;
    let mut rest = body.into_data_stream();
    let mut read: Vec<Bytes> = Vec::new();
    let mut length = 0;
    while let Some(chunk) = rest.next().await {
        let chunk = chunk.map_err(|_| ())?;
        length += chunk.len();
        read.push(chunk);
        if length > limit {
            let first = futures::stream::iter(read.into_iter().map(Ok::<Bytes, axum::Error>));
            return Ok(Longer(Body::from_stream(first.chain(rest))));
        }
    }
    Ok(Whole(read.concat().into()))
}

/// The nonce named in a page's Content-Security-Policy (`'nonce-…'`).
fn nonce_of(headers: &axum::http::HeaderMap) -> Option<String> {
    let policy = headers.get(header::CONTENT_SECURITY_POLICY)?.to_str().ok()?;
    let nonce = policy.split("'nonce-").nth(1)?.split('\'').next()?;
    (!nonce.is_empty()).then(|| nonce.to_string())
}

impl Page {
    /// `body` cut at every `nonce`; `headers` without those that a new
    /// response gets afresh.
    fn cut(mut headers: axum::http::HeaderMap, body: &Bytes, nonce: &str) -> Page {
        headers.remove(header::CONTENT_SECURITY_POLICY);
        headers.remove(header::CONTENT_LENGTH);
        let text = body.as_ref();
        let needle = nonce.as_bytes();
        let mut parts = Vec::new();
        let mut start = 0;
        for found in memchr::memmem::find_iter(text, needle) {
            parts.push(body.slice(start..found));
            start = found + needle.len();
        }
        parts.push(body.slice(start..));
        Page { headers, parts }
    }

    /// The page with `nonce` in place of the one it was rendered with.
    fn response(&self, nonce: &leptos::nonce::Nonce) -> Response {
        let nonce = nonce.to_string();
        let length = self.parts.iter().map(Bytes::len).sum::<usize>() + nonce.len() * (self.parts.len() - 1);
        let mut body = Vec::with_capacity(length);
        for (i, part) in self.parts.iter().enumerate() {
            if i > 0 {
                body.extend_from_slice(nonce.as_bytes());
            }
            body.extend_from_slice(part);
        }
        let mut response = Response::new(Body::from(body));
        *response.headers_mut() = self.headers.clone();
        if let Ok(policy) = HeaderValue::from_str(&app::page_security_policy(&nonce)) {
            response.headers_mut().insert(header::CONTENT_SECURITY_POLICY, policy);
        }
        response
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_page_is_joined_with_the_new_nonce_wherever_the_old_one_was() {
        let body = Bytes::from_static(b"<script nonce=\"OLD\">a</script><p>OLD-ish</p><script nonce=\"OLD\"></script>");
        let page = Page::cut(axum::http::HeaderMap::new(), &body, "OLD");
        assert_eq!(page.parts.len(), 4);
        let joined: Vec<u8> = page.parts.iter().flat_map(|p| p.to_vec()).collect();
        assert_eq!(
            joined,
            b"<script nonce=\"\">a</script><p>-ish</p><script nonce=\"\"></script>"
        );
    }

    #[tokio::test]
    async fn a_body_over_the_limit_is_sent_whole_and_unchanged() {
        let body = || {
            let chunks =
                ["<html>", "0123456789", "</html>"].map(|c| Ok::<_, axum::Error>(Bytes::from_static(c.as_bytes())));
            Body::from_stream(futures::stream::iter(chunks))
        };
        let Ok(Whole(whole)) = read_up_to(body(), 23).await else {
            panic!("23 bytes fit a limit of 23");
        };
        assert_eq!(whole, "<html>0123456789</html>");
        let Ok(Longer(longer)) = read_up_to(body(), 10).await else {
            panic!("23 bytes are over a limit of 10");
        };
        let again = axum::body::to_bytes(longer, 100).await.unwrap();
        assert_eq!(again, "<html>0123456789</html>", "nothing lost or repeated");
    }

    #[test]
    fn the_nonce_is_read_from_the_page_policy() {
        let mut headers = axum::http::HeaderMap::new();
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_str(&app::page_security_policy("abc+/=")).unwrap(),
        );
        assert_eq!(nonce_of(&headers).as_deref(), Some("abc+/="));
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'"),
        );
        assert_eq!(nonce_of(&headers), None);
    }
}
