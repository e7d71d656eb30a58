//! `OLLAMA_HOST`, read the way Ollama's own `envconfig.Host()` reads it.

use url::Url;

const DEFAULT: &str = "http://127.0.0.1:11434";

/// Parses an `OLLAMA_HOST` value: spaces and quotes trimmed; an optional `http://` or
/// `https://` (whose default ports are 80 and 443; without a scheme it is http and 11434); a
/// host, `host:port` or `[v6]:port`; an optional path; an invalid port falls back to the
/// default. For a client, the wildcard addresses mean this machine: `0.0.0.0` becomes
/// `127.0.0.1` and `::` becomes `::1`.
pub fn parse_ollama_host(value: &str) -> Url {
    let s = value.trim().trim_matches(|c| c == '"' || c == '\'');
    let (scheme, hostport, default_port) = match s.split_once("://") {
        None => ("http", s, "11434"),
        Some(("http", rest)) => ("http", rest, "80"),
        Some(("https", rest)) => ("https", rest, "443"),
        Some((other, rest)) => (other, rest, "11434"),
    };
    let (hostport, path) = match hostport.split_once('/') {
        Some((hp, p)) => (hp, p),
        None => (hostport, ""),
    };
    let (mut host, mut port) = match split_host_port(hostport) {
        Some((h, p)) => (h.to_owned(), p.to_owned()),
        None => {
            let bare = hostport.trim_matches(|c| c == '[' || c == ']');
            let host = if bare.is_empty() { "127.0.0.1".to_owned() } else { bare.to_owned() };
            (host, default_port.to_owned())
        }
    };
    if host.is_empty() {
        host = "127.0.0.1".into();
    }
    if port.parse::<u16>().is_err() {
        port = default_port.to_owned();
    }
    if host == "0.0.0.0" {
        host = "127.0.0.1".into();
    } else if host == "::" {
        host = "::1".into();
    }
    let host = if host.contains(':') { format!("[{host}]") } else { host };
    let path = if path.is_empty() { String::new() } else { format!("/{path}") };
    match Url::parse(&format!("{scheme}://{host}:{port}{path}")) {
        Ok(url) => url,
        // Invariant: DEFAULT is a constant, valid URL.
        #[allow(clippy::expect_used)]
        Err(_) => Url::parse(DEFAULT).expect("the default Ollama URL parses"),
    }
}

/// Go's `net.SplitHostPort`: `host:port` or `[host]:port`; `None` without a port.
fn split_host_port(s: &str) -> Option<(&str, &str)> {
    if let Some(rest) = s.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        let port = after.strip_prefix(':')?;
        return Some((host, port));
    }
    let (host, port) = s.rsplit_once(':')?;
    if host.contains(':') {
        return None; // a bare IPv6 address without brackets has no port
    }
    Some((host, port))
}

/// `OLLAMA_HOST` from the environment, or the default `http://127.0.0.1:11434`.
pub fn ollama_host_from_env() -> Url {
    parse_ollama_host(&std::env::var("OLLAMA_HOST").unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::parse_ollama_host;

    #[test]
    fn reads_ollama_host_like_ollama() {
        let cases = [
            ("", "http://127.0.0.1:11434/"),
            ("1.2.3.4", "http://1.2.3.4:11434/"),
            (" 1.2.3.4:1234 ", "http://1.2.3.4:1234/"),
            ("\"example.com\"", "http://example.com:11434/"),
            ("'example.com:8080'", "http://example.com:8080/"),
            ("http://example.com", "http://example.com/"),
            ("https://example.com", "https://example.com/"),
            ("http://example.com:1234", "http://example.com:1234/"),
            ("https://example.com:1234/ollama", "https://example.com:1234/ollama"),
            ("example.com/path", "http://example.com:11434/path"),
            ("[::1]:5678", "http://[::1]:5678/"),
            ("::1", "http://[::1]:11434/"),
            ("0.0.0.0", "http://127.0.0.1:11434/"),
            ("0.0.0.0:9999", "http://127.0.0.1:9999/"),
            (":1234", "http://127.0.0.1:1234/"),
            ("example.com:99999", "http://example.com:11434/"),
            ("localhost:abc", "http://localhost:11434/"),
        ];
        for (input, want) in cases {
            assert_eq!(parse_ollama_host(input).as_str(), want, "OLLAMA_HOST={input:?}");
        }
    }
}
