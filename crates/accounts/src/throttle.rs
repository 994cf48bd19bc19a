//! Failed logins slow down the client that makes them (issue 15, item 7;
//! OWASP Authentication Cheat Sheet, "Login Throttling").
//!
//! Counted per account *and* client address, in the database so it holds
//! across replicas. The first [`FREE_FAILURES`] failures cost nothing (typos
//! happen); each later one locks that account for that address, for
//! [`FIRST_LOCK_MS`] and twice as long at every further failure, up to
//! [`MAX_LOCK_MS`]. A guesser thus gets a handful of tries an hour per
//! address, and the per-address limit across accounts (`governor`, in the
//! app) bounds how many addresses' worth of accounts they can try — while the
//! account's owner, from their own device, is not locked out by a stranger,
//! which the old per-account lock allowed to anyone who knew an email.
//!
//! The count is forgotten [`FORGET_AFTER_MS`] after the last failure, and a
//! success from that address clears it. Unknown emails are counted the same
//! way, so a lock says nothing about whether an account exists.

use db::Db;
use std::net::IpAddr;

/// Failures from one address on one account before any wait.
pub const FREE_FAILURES: i64 = 4;
/// The first wait, after failure number `FREE_FAILURES + 1`, in milliseconds.
pub const FIRST_LOCK_MS: i64 = 30_000;
/// The longest wait, in milliseconds (15 minutes).
pub const MAX_LOCK_MS: i64 = 15 * 60 * 1000;
/// A count is forgotten this long after its last failure, in milliseconds (1 hour).
pub const FORGET_AFTER_MS: i64 = 60 * 60 * 1000;

/// The address a throttle counts by: an IPv4 address, or an IPv6 address's
/// /64 network (one subscriber's allocation, whose addresses are free to
/// rotate through).
pub fn client_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

/// Parses `APP_TRUSTED_PROXIES`: comma-separated IP addresses or CIDR
/// blocks (`10.0.0.0/8, 127.0.0.1, fd00::/8`). `Err` gives the first entry
/// that is neither.
pub fn parse_proxies(list: &str) -> Result<Vec<ipnet::IpNet>, String> {
    list.split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .map(|entry| {
            entry
                .parse::<ipnet::IpNet>()
                .or_else(|_| entry.parse::<IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| entry.to_string())
        })
        .collect()
}

/// The client's address behind the proxies in `trusted` (issue 14): the
/// peer itself unless it is a trusted proxy; then `X-Forwarded-For` read
/// from the right (each proxy appends the address it heard from), skipping
/// trusted proxies, up to the first address that is not one. Anything
/// left of that was written by the client and proves nothing. A header
/// that does not parse counts as absent, leaving the proxy's address.
///
/// `forwarded_for` holds every `X-Forwarded-For` header value in order.
pub fn client_ip(peer: IpAddr, forwarded_for: &[&str], trusted: &[ipnet::IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(&canonical(*ip)));
    if !is_trusted(&peer) {
        return peer;
    }
    let mut client = peer;
    for hop in forwarded_for.iter().rev().flat_map(|value| value.rsplit(',')) {
        let Ok(ip) = hop.trim().parse::<IpAddr>() else {
            return client;
        };
        client = ip;
        if !is_trusted(&ip) {
            break;
        }
    }
    client
}

/// An IPv4-mapped IPv6 address as the IPv4 address it is.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// How long the account is locked after `failures` failures, in milliseconds
/// (0 for none).
pub fn lock_ms(failures: i64) -> i64 {
    let over = failures - FREE_FAILURES;
    if over <= 0 {
        return 0;
    }
    let doublings = u32::try_from(over - 1).unwrap_or(u32::MAX).min(20);
    FIRST_LOCK_MS.saturating_mul(1_i64 << doublings).min(MAX_LOCK_MS)
}

/// `Err(seconds)` while `email` is locked for `client`: how long until it may
/// try again.
pub async fn check(db: &Db, email: &str, client: &str) -> Result<Result<(), u64>, sqlx::Error> {
    let locked_until: Option<i64> =
        sqlx::query_scalar("SELECT locked_until FROM login_throttle WHERE email = $1 AND client = $2")
            .bind(key(email))
            .bind(client)
            .fetch_optional(db.pool())
            .await?;
    let now = db::now_ms();
    Ok(match locked_until {
        Some(until) if until > now => Err(u64::try_from((until - now + 999) / 1000).unwrap_or(1)),
        _ => Ok(()),
    })
}

/// Counts one failed attempt on `email` from `client` and locks it for that
/// client once past the free failures. Returns the wait it starts, in seconds
/// (0 for none).
pub async fn record_failure(db: &Db, email: &str, client: &str) -> Result<u64, sqlx::Error> {
    let now = db::now_ms();
    let mut tx = db.begin().await.map_err(into_sqlx)?;
    let previous: Option<(i64, i64)> = sqlx::query_as(&format!(
        "SELECT failures, last_failure FROM login_throttle WHERE email = $1 AND client = $2{}",
        db.for_update()
    ))
    .bind(key(email))
    .bind(client)
    .fetch_optional(&mut *tx)
    .await?;
    let failures = match previous {
        Some((failures, last)) if now - last < FORGET_AFTER_MS => failures + 1,
        _ => 1,
    };
    let lock = lock_ms(failures);
    sqlx::query(
        "INSERT INTO login_throttle (email, client, failures, last_failure, locked_until) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (email, client) DO UPDATE SET failures = $3, last_failure = $4, locked_until = $5",
    )
    .bind(key(email))
    .bind(client)
    .bind(failures)
    .bind(now)
    .bind(if lock > 0 { now + lock } else { 0 })
    .execute(&mut *tx)
    .await?;
    // Forget counts nobody has added to for a while, so emails typed once
    // (or invented by a guesser) do not pile up for ever.
    sqlx::query("DELETE FROM login_throttle WHERE last_failure < $1 AND locked_until < $2")
        .bind(now - FORGET_AFTER_MS)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(u64::try_from(lock / 1000).unwrap_or(0))
}

/// Forgets the failures of `email` from `client` after a successful login
/// from it (another address's count stays).
pub async fn clear(db: &Db, email: &str, client: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM login_throttle WHERE email = $1 AND client = $2")
        .bind(key(email))
        .bind(client)
        .execute(db.writer())
        .await?;
    Ok(())
}

fn key(email: &str) -> String {
    email.trim().to_lowercase()
}

fn into_sqlx(e: db::DbError) -> sqlx::Error {
    match e {
        db::DbError::Query(e) => e,
        other => sqlx::Error::Protocol(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let proxies = parse_proxies("10.0.0.0/8, 127.0.0.1").expect("proxies");
        let ip = |s: &str| s.parse::<IpAddr>().expect("ip");
        // Straight from the internet: the header is the client's own claim.
        assert_eq!(client_ip(ip("203.0.113.9"), &["1.2.3.4"], &proxies), ip("203.0.113.9"));
        // Through the balancer: the address it heard from.
        assert_eq!(
            client_ip(ip("127.0.0.1"), &["198.51.100.7"], &proxies),
            ip("198.51.100.7")
        );
        // A forged entry on the left is skipped: the right-most untrusted hop counts.
        assert_eq!(
            client_ip(ip("10.1.2.3"), &["6.6.6.6, 198.51.100.7, 10.9.9.9"], &proxies),
            ip("198.51.100.7")
        );
        // Several headers read as one list, in order.
        assert_eq!(
            client_ip(ip("10.1.2.3"), &["6.6.6.6", "198.51.100.7"], &proxies),
            ip("198.51.100.7")
        );
        // No header, or junk: the proxy's own address (never a guess).
        assert_eq!(client_ip(ip("10.1.2.3"), &[], &proxies), ip("10.1.2.3"));
        assert_eq!(client_ip(ip("10.1.2.3"), &["not an ip"], &proxies), ip("10.1.2.3"));
        // IPv4-mapped peers match IPv4 blocks.
        assert_eq!(
            client_ip(ip("::ffff:127.0.0.1"), &["198.51.100.7"], &proxies),
            ip("198.51.100.7")
        );
        // Nobody trusted: the peer, whatever the header says.
        assert_eq!(client_ip(ip("127.0.0.1"), &["198.51.100.7"], &[]), ip("127.0.0.1"));
        assert_eq!(parse_proxies("10.0.0.0/8,proxy.local"), Err("proxy.local".to_string()));
        assert_eq!(parse_proxies(" ").map(|p| p.len()), Ok(0));
    }

    #[test]
    fn waits_start_after_the_free_failures_and_double_up_to_the_cap() {
        let waits: Vec<i64> = (1..=12).map(lock_ms).collect();
        assert_eq!(&waits[..4], &[0, 0, 0, 0]);
        assert_eq!(&waits[4..9], &[30_000, 60_000, 120_000, 240_000, 480_000]);
        assert!(waits[9..].iter().all(|w| *w == MAX_LOCK_MS));
        assert_eq!(lock_ms(i64::MAX), MAX_LOCK_MS, "no overflow");
    }

    #[test]
    fn ipv6_clients_count_by_their_64_network() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap_or(IpAddr::from([0, 0, 0, 0]));
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap_or(IpAddr::from([0, 0, 0, 0]));
        assert_eq!(client_key(a), client_key(b));
        assert_eq!(client_key(a), "2001:db8:1:2::/64");
        assert_eq!(client_key(IpAddr::from([10, 0, 0, 7])), "10.0.0.7");
        let mapped: IpAddr = "::ffff:10.0.0.7".parse().unwrap_or(IpAddr::from([0, 0, 0, 0]));
        assert_eq!(client_key(mapped), "10.0.0.7");
    }
}
