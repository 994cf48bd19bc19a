//! The reader's language (issue 12): Korean first, English second.
//!
//! The language comes from the reader's choice — the switch in the top bar,
//! remembered in a cookie and, for a logged-in user, on the account — else
//! from the browser's `Accept-Language`, else Korean. `leptos_i18n` resolves
//! it on the server, so the first render and the hydrated page agree, and
//! sets `<html lang>`. Money and times follow each language's custom:
//! 12,000원 and ₩12,000; times always in Korea time (KST).

use crate::error::AppError;
use crate::i18n::{t, use_i18n, Locale};
use domain::Money;
use leptos::prelude::*;

/// The cookie that remembers the reader's language (leptos_i18n's own).
pub const COOKIE: &str = "i18n_pref_locale";

/// How long the language cookie lasts, in milliseconds (a year).
const COOKIE_MAX_AGE_MS: i64 = 365 * 24 * 3_600_000;

/// Provides the language to everything inside: resolved on the server from
/// the cookie, else `Accept-Language`, else Korean; `<html lang>` follows.
#[component]
pub fn Provider(children: Children) -> impl IntoView {
    let cookie = leptos_i18n::context::CookieOptions::<Locale>::default()
        .path("/")
        .max_age(COOKIE_MAX_AGE_MS);
    view! {
        <crate::i18n::I18nContextProvider cookie_options=cookie set_dir_attr_on_html=false>
            {children()}
        </crate::i18n::I18nContextProvider>
    }
}

/// The machine name of a locale (`ko`, `en`), as in the cookie and on the account.
pub fn code(locale: Locale) -> &'static str {
    match locale {
        Locale::ko => "ko",
        Locale::en => "en",
    }
}

/// Parses [`code`]; `None` for anything else.
pub fn parse(code: &str) -> Option<Locale> {
    match code.trim() {
        "ko" => Some(Locale::ko),
        "en" => Some(Locale::en),
        _ => None,
    }
}

/// The language of this request, on the server (server functions have no
/// context): the cookie, else `Accept-Language`, else Korean.
#[cfg(feature = "ssr")]
pub fn of_request() -> Locale {
    leptos_i18n::locale::resolve_locale::<Locale>()
}

/// The language of a request read from its headers alone, for answers
/// given before the app sees it (the edge's refusals): the language cookie,
/// else the first of `ko`/`en` in `Accept-Language` (browsers list it in
/// order of preference), else Korean.
#[cfg(feature = "ssr")]
pub fn of_headers(headers: &http::HeaderMap) -> Locale {
    let cookie = headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .and_then(|(_, value)| parse(value));
    let accepted = || {
        headers
            .get(http::header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .into_iter()
            .flat_map(|v| v.split(','))
            .filter_map(|tag| tag.split(';').next())
            .find_map(|tag| parse(tag.trim().split('-').next().unwrap_or_default()))
    };
    cookie.or_else(accepted).unwrap_or_default()
}

/// Digits of a whole number (won, minutes) grouped by thousands: `12,000`.
pub(crate) fn grouped(won: i64) -> String {
    let digits = won.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if won < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A page's `<Title>` in the reader's language.
///
/// On the server the text is made once, as the page renders: leptos_meta
/// reads a reactive title only after the page's reactive owner may have
/// been disposed, and under parallel load one `GET /` in fifty panicked
/// there ("Tried to access a reactive value that has already been
/// disposed", issue 13's read benchmark). In the browser it stays
/// reactive, so switching the language retitles the tab.
pub fn page_title(text: impl Fn() -> String + Send + Sync + 'static) -> leptos::text_prop::TextProp {
    #[cfg(feature = "ssr")]
    {
        leptos::text_prop::TextProp::from(text())
    }
    #[cfg(not(feature = "ssr"))]
    {
        leptos::text_prop::TextProp::from(text)
    }
}

/// Korean particles chosen by the word before them: a message written as
/// `{{ field }}을(를)`, `이(가)`, `은(는)`, `과(와)` or `(으)로` reads
/// `주소를`, `고객이`, `역삼점으로`, `서울로`, `주문 #13을` once the word is
/// known — as Korean apps write it, never the bracketed form. A Hangul
/// syllable decides by its final consonant (ㄹ takes `로`); a digit by how
/// it is read (`1 일`, `2 이`, …); quotes and brackets after the word are
/// looked through. After anything else (Latin letters) the bracketed form
/// stays, which is still correct.
pub fn particles(text: &str) -> String {
    /// Pattern, after a final consonant, after a vowel.
    const PAIRS: [(&str, &str, &str); 5] = [
        ("을(를)", "을", "를"),
        ("이(가)", "이", "가"),
        ("은(는)", "은", "는"),
        ("과(와)", "과", "와"),
        ("(으)로", "으로", "로"),
    ];
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    'scan: while let Some(c) = rest.chars().next() {
        for (pattern, consonant, vowel) in PAIRS {
            if let Some(tail) = rest.strip_prefix(pattern) {
                let word = match ending(&out) {
                    // `로` also follows a final ㄹ (`서울로`).
                    Some(Ending::Rieul) if pattern == "(으)로" => vowel,
                    Some(Ending::Vowel) => vowel,
                    Some(_) => consonant,
                    None => pattern,
                };
                out.push_str(word);
                rest = tail;
                continue 'scan;
            }
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// How the word at the end of `text` ends, for [`particles`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ending {
    Vowel,
    Rieul,
    Consonant,
}

fn ending(text: &str) -> Option<Ending> {
    let last = text
        .chars()
        .rev()
        .find(|c| !matches!(c, '\'' | '"' | ')' | ']' | '’' | '”' | '」' | '』'))?;
    match last {
        '가'..='힣' => Some(match (u32::from(last) - 0xAC00) % 28 {
            0 => Ending::Vowel,
            8 => Ending::Rieul,
            _ => Ending::Consonant,
        }),
        // 영 일 이 삼 사 오 육 칠 팔 구
        '2' | '4' | '5' | '9' => Some(Ending::Vowel),
        '1' | '7' | '8' => Some(Ending::Rieul),
        '0' | '3' | '6' => Some(Ending::Consonant),
        _ => None,
    }
}

/// An amount as readers of `locale` write it: `12,000원` in Korean,
/// `₩12,000` in English.
pub fn won(locale: Locale, amount: Money) -> String {
    let digits = grouped(amount.won());
    match locale {
        Locale::ko => format!("{digits}원"),
        Locale::en => format!("₩{digits}"),
    }
}

/// A time of day in Korea: `오후 3:47` in Korean, `3:47 PM` in English.
pub fn time(locale: Locale, ms: i64) -> String {
    let t = domain::kst::at(ms);
    let hour12 = match t.hour % 12 {
        0 => 12,
        h => h,
    };
    let pm = t.hour >= 12;
    match locale {
        Locale::ko => format!("{} {hour12}:{:02}", if pm { "오후" } else { "오전" }, t.minute),
        Locale::en => format!("{hour12}:{:02} {}", t.minute, if pm { "PM" } else { "AM" }),
    }
}

/// A date and time in Korea: `11월 21일 (토) 오후 3:47` in Korean,
/// `Sat 21 Nov, 3:47 PM` in English.
pub fn date_time(locale: Locale, ms: i64) -> String {
    let t = domain::kst::at(ms);
    let weekday = usize::from(t.weekday % 7);
    match locale {
        Locale::ko => {
            const DAYS: [&str; 7] = ["일", "월", "화", "수", "목", "금", "토"];
            format!("{}월 {}일 ({}) {}", t.month, t.day, DAYS[weekday], time(locale, ms))
        }
        Locale::en => {
            const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
            const MONTHS: [&str; 12] = [
                "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
            ];
            let month = MONTHS[usize::from(t.month.clamp(1, 12) - 1)];
            format!("{} {} {month}, {}", DAYS[weekday], t.day, time(locale, ms))
        }
    }
}

/// Remembers the reader's choice of language: the cookie (so the next page
/// is in it, JavaScript or not) and, when logged in, the account (so the
/// next login anywhere is in it too).
///
/// Errors: 400 for a language other than `ko` or `en`.
#[server(endpoint = "set_language", output = crate::codec::Json)]
pub async fn set_language(
    /// `ko` or `en`.
    lang: String,
) -> Result<(), AppError> {
    let locale = parse(&lang).ok_or_else(|| {
        crate::error::respond(AppError::BadRequest(domain::problem::Problem::Choose {
            what: domain::problem::Choice::Language,
        }))
    })?;
    set_cookie(locale);
    let auth = crate::server::auth_session().await?;
    if let Some(user) = auth.user.as_ref() {
        let state = crate::state::app_state()?;
        accounts::set_language(&state.db, user.user.id, code(locale))
            .await
            .map_err(|e| crate::error::respond(crate::error::internal(e)))?;
    }
    Ok(())
}

/// The web app manifest (`/manifest.webmanifest`) in `locale`: the name and
/// description an installed app shows, with `lang` to match; the icons and
/// colours are the same in both.
#[cfg(feature = "ssr")]
pub fn manifest(locale: Locale) -> String {
    use leptos_i18n::td_string;
    serde_json::json!({
        "name": td_string!(locale, manifest.name),
        "short_name": td_string!(locale, manifest.short_name),
        "description": td_string!(locale, manifest.description),
        "lang": code(locale),
        "start_url": "/",
        "scope": "/",
        "display": "standalone",
        "orientation": "portrait",
        "background_color": "#f4f7f8",
        "theme_color": "#2ac1bc",
        "icons": [
            { "src": "/icons/icon-192.png", "sizes": "192x192", "type": "image/png", "purpose": "any maskable" },
            { "src": "/icons/icon-512.png", "sizes": "512x512", "type": "image/png", "purpose": "any maskable" }
        ]
    })
    .to_string()
}

/// Sends the language cookie with this response.
#[cfg(feature = "ssr")]
pub fn set_cookie(locale: Locale) {
    let cookie = format!(
        "{COOKIE}={}; Path=/; Max-Age={}; SameSite=Lax",
        code(locale),
        COOKIE_MAX_AGE_MS / 1000
    );
    if let (Some(response), Ok(value)) = (
        use_context::<leptos_axum::ResponseOptions>(),
        http::HeaderValue::from_str(&cookie),
    ) {
        response.append_header(http::header::SET_COOKIE, value);
    }
}

/// The switch in the top bar: one button naming the other language in
/// itself ("English" on a Korean page, "한국어" on an English one), small
/// enough for a 375 px phone. It works without JavaScript (the form posts,
/// the server sets the cookie, the page comes back in the new language);
/// hydrated, the page changes in place as soon as the server has the choice.
#[component]
pub fn Switch() -> impl IntoView {
    let i18n = use_i18n();
    let choose = ServerAction::<SetLanguage>::new();
    // The page changes once the server has the choice: swapping the button
    // on click would take it out of the form before the form posts.
    let chosen = RwSignal::new(None::<Locale>);
    Effect::new(move |_| {
        if let (Some(Ok(())), Some(locale)) = (choose.value().get(), chosen.get_untracked()) {
            i18n.set_locale(locale);
        }
    });
    let button = move |locale: Locale, label: &'static str| {
        view! {
            <button
                type="submit"
                name="lang"
                value=code(locale)
                class="link-button lang"
                lang=code(locale)
                data-testid=format!("lang-{}", code(locale))
                on:click=move |_| chosen.set(Some(locale))
            >
                <span class="visually-hidden">{t!(i18n, nav.language)} ": "</span>
                {label}
            </button>
        }
    };
    view! {
        <ActionForm action=choose attr:class="inline lang-switch" attr:data-testid="lang-switch">
            {move || match i18n.get_locale() {
                Locale::ko => button(Locale::en, "English"),
                Locale::en => button(Locale::ko, "한국어"),
            }}
        </ActionForm>
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn korean_particles_follow_the_word_before_them() {
        use super::particles;
        assert_eq!(particles("주소을(를) 입력해 주세요."), "주소를 입력해 주세요.");
        assert_eq!(
            particles("가게 이름을(를) 입력해 주세요."),
            "가게 이름을 입력해 주세요."
        );
        assert_eq!(
            particles("고객이(가) 주문 #12을(를) 취소했어요."),
            "고객이 주문 #12를 취소했어요."
        );
        assert_eq!(particles("주문 #13이(가) 취소되었어요."), "주문 #13이 취소되었어요.");
        assert_eq!(particles("주문 #10을(를)"), "주문 #10을");
        assert_eq!(particles("'떡볶이'이(가) 품절되었어요."), "'떡볶이'가 품절되었어요.");
        assert_eq!(particles("역삼점(으)로 가고 있어요"), "역삼점으로 가고 있어요");
        assert_eq!(particles("서울(으)로, 라이더(으)로, 7(으)로"), "서울로, 라이더로, 7로");
        assert_eq!(
            particles("김밥천국은(는) 사과과(와) 빵과(와)"),
            "김밥천국은 사과와 빵과"
        );
        // After a Latin word, or at the start, the bracketed form stays.
        assert_eq!(particles("BBQ을(를) 골랐어요"), "BBQ을(를) 골랐어요");
        assert_eq!(particles("을(를)"), "을(를)");
        assert_eq!(particles("no particles at all"), "no particles at all");
    }

    use super::*;

    fn won_of(amount: i64) -> Money {
        Money::from_won(amount).unwrap_or(Money::ZERO)
    }

    #[test]
    fn money_reads_as_each_language_writes_it() {
        assert_eq!(won(Locale::ko, won_of(12_000)), "12,000원");
        assert_eq!(won(Locale::en, won_of(12_000)), "₩12,000");
        assert_eq!(won(Locale::ko, won_of(1_234_567)), "1,234,567원");
        assert_eq!(won(Locale::en, Money::ZERO), "₩0");
    }

    #[test]
    fn times_are_korea_time_in_each_language_s_form() {
        // 2026-11-21 06:47 UTC is Saturday 15:47 in Seoul.
        let ms = 1_795_243_620_000;
        assert_eq!(date_time(Locale::ko, ms), "11월 21일 (토) 오후 3:47");
        assert_eq!(date_time(Locale::en, ms), "Sat 21 Nov, 3:47 PM");
        assert_eq!(time(Locale::ko, ms - 12 * 3_600_000), "오전 3:47");
        // Midnight and noon.
        assert_eq!(time(Locale::en, 1_795_186_800_000), "12:00 AM");
        assert_eq!(time(Locale::ko, 1_795_230_000_000), "오후 12:00");
    }

    #[cfg(feature = "ssr")]
    #[test]
    fn a_request_s_language_is_its_cookie_then_its_accept_language_then_korean() {
        let headers = |pairs: &[(&str, &str)]| {
            let mut map = http::HeaderMap::new();
            for (name, value) in pairs {
                if let (Ok(name), Ok(value)) = (
                    http::HeaderName::from_bytes(name.as_bytes()),
                    http::HeaderValue::from_str(value),
                ) {
                    map.append(name, value);
                }
            }
            map
        };
        assert_eq!(of_headers(&headers(&[])), Locale::ko);
        assert_eq!(
            of_headers(&headers(&[("accept-language", "en-US,en;q=0.9,ko;q=0.8")])),
            Locale::en
        );
        assert_eq!(
            of_headers(&headers(&[("accept-language", "fr-FR, ko-KR;q=0.5")])),
            Locale::ko
        );
        assert_eq!(of_headers(&headers(&[("accept-language", "fr")])), Locale::ko);
        assert_eq!(
            of_headers(&headers(&[
                ("accept-language", "en"),
                ("cookie", "sid=1; i18n_pref_locale=ko")
            ])),
            Locale::ko
        );
        assert_eq!(of_headers(&headers(&[("cookie", "i18n_pref_locale=en")])), Locale::en);
    }

    #[test]
    fn only_korean_and_english_are_languages() {
        assert_eq!(parse("ko"), Some(Locale::ko));
        assert_eq!(parse(" en "), Some(Locale::en));
        assert_eq!(parse("fr"), None);
        assert_eq!(parse(code(Locale::en)), Some(Locale::en));
    }
}
