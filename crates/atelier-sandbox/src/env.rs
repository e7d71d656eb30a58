//! The environment a confined command gets: a short allow-list of Atelier's own variables (what
//! builds need: `PATH`, locale, toolchain homes) plus the caller's, never secrets such as API
//! keys, tokens or the ssh agent's socket.

use std::path::{Path, PathBuf};

use crate::Mode;

/// Variables passed through when set. Anything else (`*_API_KEY`, `ATELIER_TOKEN`,
/// `SSH_AUTH_SOCK`, `DBUS_SESSION_BUS_ADDRESS`, …) stays out.
const ALLOWED: &[&str] = &[
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "LANG",
    "LANGUAGE",
    "TZ",
    "CARGO_HOME",
    "RUSTUP_HOME",
    "RUSTUP_TOOLCHAIN",
    "GOPATH",
    "GOROOT",
    "GOMODCACHE",
    "GOFLAGS",
    "JAVA_HOME",
    "NVM_DIR",
    "NODE_PATH",
    "PYENV_ROOT",
    "VIRTUAL_ENV",
    "CC",
    "CXX",
    "PKG_CONFIG_PATH",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    // Windows: what programs need to start at all.
    "SYSTEMROOT",
    "SystemRoot",
    "WINDIR",
    "COMSPEC",
    "PATHEXT",
    "USERPROFILE",
    "APPDATA",
    "LOCALAPPDATA",
    "PROGRAMDATA",
    "ProgramFiles",
    "ProgramFiles(x86)",
    "NUMBER_OF_PROCESSORS",
    "PROCESSOR_ARCHITECTURE",
];

/// Passed through only with the network allowed: proxies are useless without it.
const NETWORK: &[&str] = &[
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "ALL_PROXY",
    "all_proxy",
];

/// The home folder, from `HOME` (`USERPROFILE` on Windows).
pub(crate) fn home() -> Option<PathBuf> {
    let var = if cfg!(windows) { "USERPROFILE" } else { "HOME" };
    std::env::var_os(var).filter(|h| !h.is_empty()).map(PathBuf::from).filter(|h| h.is_absolute())
}

/// The environment for a confined command: the allow-listed variables of this process, `LC_*`,
/// `TERM=dumb` (output goes to a pipe), `TMPDIR` when the mode gives a private one,
/// `ATELIER_SANDBOX` naming the mode, and then `extra` (which wins).
pub fn clean_env(
    mode: &Mode,
    home: Option<&Path>,
    tmp: Option<&Path>,
    network: bool,
    extra: &[(String, String)],
) -> Vec<(String, String)> {
    let mut vars: Vec<(String, String)> = std::env::vars()
        .filter(|(k, _)| {
            ALLOWED.contains(&k.as_str())
                || k.starts_with("LC_")
                || (network && NETWORK.contains(&k.as_str()))
        })
        .collect();
    let mut set = |key: &str, value: String| {
        vars.retain(|(k, _)| k != key);
        vars.push((key.to_owned(), value));
    };
    if let Some(home) = home {
        set(if cfg!(windows) { "USERPROFILE" } else { "HOME" }, home.display().to_string());
    }
    set("TERM", "dumb".into());
    if let Some(tmp) = tmp {
        for key in ["TMPDIR", "TMP", "TEMP"] {
            set(key, tmp.display().to_string());
        }
    }
    set("ATELIER_SANDBOX", mode.name().to_owned());
    for (key, value) in extra {
        set(key, value.clone());
    }
    vars
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_stay_out_and_the_caller_wins() {
        let vars = clean_env(
            &Mode::Bubblewrap,
            Some(Path::new("/home/alice")),
            None,
            false,
            &[("CARGO_TARGET_DIR".into(), "/p/target".into()), ("HOME".into(), "/elsewhere".into())],
        );
        let get = |k: &str| vars.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
        assert_eq!(get("CARGO_TARGET_DIR"), Some("/p/target"));
        assert_eq!(get("HOME"), Some("/elsewhere"));
        assert_eq!(get("ATELIER_SANDBOX"), Some("bubblewrap"));
        assert_eq!(get("TERM"), Some("dumb"));
        for (key, _) in &vars {
            assert!(!key.ends_with("_API_KEY") && key != "SSH_AUTH_SOCK" && key != "ATELIER_TOKEN", "{key}");
        }
    }
}
