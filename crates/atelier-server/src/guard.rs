//! Who may use the server: the token (401 before the upgrade), the `Origin` of a WebSocket
//! upgrade (403), and the `Host` header of every request (403, against DNS rebinding).

use std::net::IpAddr;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::{ServerConfig, ServerState};

/// Compares in time independent of where the strings differ.
fn same_secret(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The token from `Authorization: Bearer …` (the scheme in any case, as RFC 9110 says) or the
/// `token` query parameter.
pub(crate) fn token_ok(config: &ServerConfig, headers: &HeaderMap, query_token: Option<&str>) -> bool {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim_start().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim());
    [bearer, query_token].into_iter().flatten().any(|t| same_secret(t, &config.token))
}

/// The host part of a `Host` header value (`name`, `name:port`, `[v6]:port`).
fn host_name(value: &str) -> &str {
    if let Some(rest) = value.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match value.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => value,
    }
}

pub(crate) fn host_ok(config: &ServerConfig, host: &str) -> bool {
    let name = host_name(host).to_ascii_lowercase();
    if name == "localhost" || config.allowed_hosts.iter().any(|h| h.eq_ignore_ascii_case(&name)) {
        return true;
    }
    match name.parse::<IpAddr>() {
        // Rebinding attacks arrive with a DNS name; an IP literal that reaches us is one of
        // ours when bound to all interfaces, else it must be the bind address or loopback.
        Ok(ip) => ip.is_loopback() || ip == config.bind.ip() || config.bind.ip().is_unspecified(),
        Err(_) => false,
    }
}

/// An `Origin` is the server's own when its host is acceptable and its port is ours.
pub(crate) fn origin_ok(config: &ServerConfig, origin: &str) -> bool {
    if config.allowed_origins.iter().any(|o| o.trim_end_matches('/') == origin.trim_end_matches('/')) {
        return true;
    }
    let Some(rest) = origin.strip_prefix("http://") else { return false };
    let port = config.bind.port().to_string();
    match rest.rsplit_once(':') {
        Some((host, p)) if p == port => host_ok(config, &format!("{host}:{p}")),
        _ => false,
    }
}

pub(crate) async fn check_host(State(state): State<ServerState>, request: Request, next: Next) -> Response {
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .or_else(|| request.uri().authority().map(|a| a.as_str()));
    match host {
        Some(host) if host_ok(&state.config, host) => next.run(request).await,
        _ => (
            StatusCode::FORBIDDEN,
            "this Host is not allowed; start atelier serve with --allow-host NAME to accept it",
        )
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(bind: &str) -> ServerConfig {
        ServerConfig::new(bind.parse().expect("addr"), "secret".into())
    }

    #[test]
    fn hosts_are_checked_against_the_bind_address_and_loopback() {
        let c = config("127.0.0.1:7777");
        for ok in ["127.0.0.1:7777", "localhost:7777", "LOCALHOST", "[::1]:7777"] {
            assert!(host_ok(&c, ok), "{ok}");
        }
        for bad in ["evil.example:7777", "10.0.0.5:7777", "", "127.0.0.1.evil.example"] {
            assert!(!host_ok(&c, bad), "{bad}");
        }
        let any = config("0.0.0.0:7777");
        assert!(host_ok(&any, "192.168.1.20:7777"));
        assert!(!host_ok(&any, "rebind.example:7777"));
    }

    #[test]
    fn origins_must_be_our_own_or_allowed() {
        let mut c = config("127.0.0.1:7777");
        assert!(origin_ok(&c, "http://127.0.0.1:7777"));
        assert!(origin_ok(&c, "http://localhost:7777"));
        assert!(!origin_ok(&c, "http://localhost:9999"));
        assert!(!origin_ok(&c, "https://evil.example"));
        assert!(!origin_ok(&c, "null"));
        c.allowed_origins.push("https://atelier.example".into());
        assert!(origin_ok(&c, "https://atelier.example"));
    }

    #[test]
    fn tokens_compare_whole() {
        let c = config("127.0.0.1:7777");
        let none = HeaderMap::new();
        assert!(token_ok(&c, &none, Some("secret")));
        assert!(!token_ok(&c, &none, Some("secre")));
        assert!(!token_ok(&c, &none, None));
        for scheme in ["Bearer", "bearer", "BEARER"] {
            let mut h = HeaderMap::new();
            h.insert(header::AUTHORIZATION, format!("{scheme} secret").parse().expect("header"));
            assert!(token_ok(&c, &h, None), "{scheme}");
        }
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, "Basic secret".parse().expect("header"));
        assert!(!token_ok(&c, &h, None), "another scheme is not a bearer token");
    }
}
