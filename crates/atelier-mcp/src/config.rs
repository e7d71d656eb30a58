//! What an MCP server is: how to reach it (a command over stdio, or a Streamable HTTP URL), and
//! the `mcpServers` JSON that other MCP clients (Claude Desktop, Cursor, Cline, VS Code) keep
//! their servers in, read for `mcp.import` and a project's `.mcp.json`.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use serde_json::Value;

use crate::error::{McpError, McpResult};

/// A server to run: its name and how to reach it. `Debug` never prints `env` or header values,
/// which are secrets as often as not (API tokens).
#[derive(Clone, PartialEq, Eq)]
pub struct ServerSpec {
    pub name: String,
    pub transport: Transport,
}

#[derive(Clone, PartialEq, Eq)]
pub enum Transport {
    Stdio(StdioSpec),
    Http(HttpSpec),
}

/// A server that is a child process speaking MCP on its stdin and stdout.
#[derive(Clone, PartialEq, Eq)]
pub struct StdioSpec {
    pub command: String,
    pub args: Vec<String>,
    /// Added to the engine's own environment.
    pub env: BTreeMap<String, String>,
    /// The folder it runs in: a project server's project, else the engine's own.
    pub cwd: Option<PathBuf>,
    /// Whether it should run confined (see [`crate::stdio::command`]): the switch is kept and
    /// passed down; the confinement itself comes with the sandbox crate.
    pub sandbox: bool,
}

/// A server reached over Streamable HTTP.
#[derive(Clone, PartialEq, Eq)]
pub struct HttpSpec {
    pub url: String,
    /// Sent with every request (e.g. `Authorization`).
    pub headers: BTreeMap<String, String>,
}

impl fmt::Debug for ServerSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("ServerSpec");
        d.field("name", &self.name);
        match &self.transport {
            Transport::Stdio(s) => d
                .field("command", &s.command)
                .field("args", &s.args)
                .field("env", &s.env.keys().collect::<Vec<_>>())
                .field("sandbox", &s.sandbox),
            Transport::Http(h) => {
                d.field("url", &h.url).field("headers", &h.headers.keys().collect::<Vec<_>>())
            }
        };
        d.finish()
    }
}

impl fmt::Debug for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Transport::Stdio(_) => "stdio",
            Transport::Http(_) => "http",
        })
    }
}

impl ServerSpec {
    /// The values that must never show in a status, a log tail or an error: every `env` and
    /// header value long enough to be a secret.
    pub fn secrets(&self) -> Vec<String> {
        let values: Vec<&String> = match &self.transport {
            Transport::Stdio(s) => s.env.values().collect(),
            Transport::Http(h) => h.headers.values().collect(),
        };
        values.into_iter().filter(|v| v.len() >= 4).cloned().collect()
    }

    /// Checks everything that can be checked before starting it.
    pub fn validate(&self) -> McpResult<()> {
        check_name(&self.name)?;
        match &self.transport {
            Transport::Stdio(s) => {
                if s.command.trim().is_empty() {
                    return Err(McpError::InvalidConfig(format!(
                        "the MCP server `{}` has no command",
                        self.name
                    )));
                }
                for key in s.env.keys() {
                    check_env_name(key)?;
                }
                if s.command.contains('\0') || s.args.iter().any(|a| a.contains('\0')) {
                    return Err(McpError::InvalidConfig(
                        "a command or argument contains a NUL character".into(),
                    ));
                }
                for value in s.env.values() {
                    if value.contains('\0') {
                        return Err(McpError::InvalidConfig(
                            "an environment value contains a NUL character".into(),
                        ));
                    }
                }
            }
            Transport::Http(h) => {
                check_url(&h.url)?;
                for (name, value) in &h.headers {
                    check_header(name, value)?;
                }
            }
        }
        Ok(())
    }
}

/// Server names become part of tool names (`<server>.<tool>`), so they are short and plain:
/// letters, digits, `_` and `-`.
pub fn check_name(name: &str) -> McpResult<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(McpError::InvalidConfig(format!(
            "`{}` is not a usable MCP server name: use 1 to 64 letters, digits, `_` or `-` \
             (it becomes part of tool names, `<server>.<tool>`)",
            name.chars().take(80).collect::<String>()
        )))
    }
}

fn check_env_name(key: &str) -> McpResult<()> {
    if key.is_empty() || key.contains('=') || key.contains('\0') || key.len() > 256 {
        return Err(McpError::InvalidConfig(format!(
            "`{}` is not an environment variable name",
            key.chars().take(80).collect::<String>()
        )));
    }
    Ok(())
}

fn check_url(url: &str) -> McpResult<()> {
    match url::Url::parse(url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Ok(()),
        Ok(_) => Err(McpError::InvalidConfig(format!(
            "`{}` is not an http:// or https:// address",
            url.chars().take(200).collect::<String>()
        ))),
        Err(e) => Err(McpError::InvalidConfig(format!(
            "`{}` is not a URL: {e}",
            url.chars().take(200).collect::<String>()
        ))),
    }
}

fn check_header(name: &str, value: &str) -> McpResult<()> {
    if http::HeaderName::from_bytes(name.as_bytes()).is_err() {
        return Err(McpError::InvalidConfig(format!(
            "`{}` is not an HTTP header name",
            name.chars().take(80).collect::<String>()
        )));
    }
    if http::HeaderValue::from_str(value).is_err() {
        // The value is likely a secret: the message names only the header.
        return Err(McpError::InvalidConfig(format!(
            "the value of the header `{name}` has characters a header cannot carry (line breaks, control characters)"
        )));
    }
    Ok(())
}

/// One server of an imported `mcpServers` document.
#[derive(Clone, PartialEq, Eq)]
pub struct Imported {
    pub spec: ServerSpec,
    /// `false` when the document marks it `"disabled": true` (Cline, Roo).
    pub enabled: bool,
}

impl fmt::Debug for Imported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Imported").field("spec", &self.spec).field("enabled", &self.enabled).finish()
    }
}

/// Reads the JSON other MCP clients keep their servers in: `{"mcpServers": {NAME: {command,
/// args, env} | {url, headers}}}` (Claude Desktop, Cursor, Claude Code's `.mcp.json`), also
/// under `servers` (VS Code), or the bare map. Every entry is checked before any is returned:
/// one bad entry refuses the document, naming it, so an import never half-happens.
pub fn parse_mcp_servers(json: &str) -> McpResult<Vec<Imported>> {
    let doc: Value = serde_json::from_str(json)
        .map_err(|e| McpError::InvalidConfig(format!("the MCP configuration is not valid JSON: {e}")))?;
    let Value::Object(root) = doc else {
        return Err(McpError::InvalidConfig("the MCP configuration must be a JSON object".into()));
    };
    let servers = match (root.get("mcpServers"), root.get("servers")) {
        (Some(Value::Object(m)), _) | (None, Some(Value::Object(m))) => m.clone(),
        (Some(_), _) | (None, Some(_)) => {
            return Err(McpError::InvalidConfig("`mcpServers` must be an object of servers by name".into()));
        }
        // A bare map of servers, as some tools write it.
        (None, None) if root.values().all(|v| v.get("command").is_some() || v.get("url").is_some()) => root,
        (None, None) => {
            return Err(McpError::InvalidConfig(
                "no `mcpServers` in the JSON: expected {\"mcpServers\": {NAME: {\"command\": …} or {\"url\": …}}}"
                    .into(),
            ));
        }
    };
    let mut out = Vec::with_capacity(servers.len());
    for (name, entry) in servers {
        let imported = parse_entry(&name, &entry).map_err(|e| {
            McpError::InvalidConfig(format!("server `{}`: {e}", name.chars().take(64).collect::<String>()))
        })?;
        out.push(imported);
    }
    Ok(out)
}

fn parse_entry(name: &str, entry: &Value) -> McpResult<Imported> {
    let Value::Object(e) = entry else {
        return Err(McpError::InvalidConfig("each server must be an object".into()));
    };
    let strings = |key: &str| -> McpResult<BTreeMap<String, String>> {
        match e.get(key) {
            None | Some(Value::Null) => Ok(BTreeMap::new()),
            Some(Value::Object(m)) => m
                .iter()
                .map(|(k, v)| match v {
                    Value::String(s) => Ok((k.clone(), s.clone())),
                    Value::Number(n) => Ok((k.clone(), n.to_string())),
                    Value::Bool(b) => Ok((k.clone(), b.to_string())),
                    _ => Err(McpError::InvalidConfig(format!("`{key}.{k}` must be a string"))),
                })
                .collect(),
            Some(_) => Err(McpError::InvalidConfig(format!("`{key}` must be an object of strings"))),
        }
    };
    let kind = e.get("type").or_else(|| e.get("transport")).and_then(Value::as_str).unwrap_or("");
    let transport = match (e.get("command"), e.get("url").or_else(|| e.get("serverUrl"))) {
        (Some(Value::String(command)), None) => {
            let args = match e.get("args") {
                None | Some(Value::Null) => Vec::new(),
                Some(Value::Array(a)) => a
                    .iter()
                    .map(|v| match v {
                        Value::String(s) => Ok(s.clone()),
                        Value::Number(n) => Ok(n.to_string()),
                        _ => Err(McpError::InvalidConfig("`args` must be a list of strings".into())),
                    })
                    .collect::<McpResult<_>>()?,
                Some(_) => return Err(McpError::InvalidConfig("`args` must be a list of strings".into())),
            };
            let cwd = e.get("cwd").and_then(Value::as_str).map(PathBuf::from);
            Transport::Stdio(StdioSpec {
                command: command.clone(),
                args,
                env: strings("env")?,
                cwd,
                sandbox: false,
            })
        }
        (None, Some(Value::String(url))) => {
            if kind == "sse" {
                return Err(McpError::InvalidConfig(
                    "this server uses the old HTTP+SSE transport, which the MCP SDK Atelier uses no longer \
                     offers; use the server's Streamable HTTP address (often ending in /mcp) instead"
                        .into(),
                ));
            }
            Transport::Http(HttpSpec { url: url.clone(), headers: strings("headers")? })
        }
        (Some(_), Some(_)) => {
            return Err(McpError::InvalidConfig("has both `command` and `url`; keep one".into()));
        }
        _ => {
            return Err(McpError::InvalidConfig(
                "needs a `command` (stdio) or a `url` (HTTP), as a string".into(),
            ));
        }
    };
    let spec = ServerSpec { name: name.to_owned(), transport };
    spec.validate()?;
    let enabled = !e.get("disabled").and_then(Value::as_bool).unwrap_or(false);
    Ok(Imported { spec, enabled })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn claude_desktop_and_cursor_documents_are_read() {
        let doc = r#"{"mcpServers": {
            "fs": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-filesystem", "/tmp"], "env": {"TOKEN": "abc123"}},
            "remote": {"url": "https://example.invalid/mcp", "headers": {"Authorization": "Bearer xyz"}},
            "off": {"command": "x", "disabled": true}
        }}"#;
        let servers = parse_mcp_servers(doc).unwrap();
        assert_eq!(servers.len(), 3);
        let fs = servers.iter().find(|s| s.spec.name == "fs").unwrap();
        let Transport::Stdio(s) = &fs.spec.transport else { panic!("stdio") };
        assert_eq!(s.args, ["-y", "@modelcontextprotocol/server-filesystem", "/tmp"]);
        assert_eq!(s.env["TOKEN"], "abc123");
        assert!(servers.iter().any(|s| s.spec.name == "off" && !s.enabled));
        // Secrets stay out of Debug output.
        assert!(!format!("{servers:?}").contains("abc123"));
        assert!(!format!("{servers:?}").contains("xyz"));
    }

    #[test]
    fn a_bad_entry_refuses_the_whole_document_and_names_it() {
        let err =
            parse_mcp_servers(r#"{"mcpServers": {"ok": {"command": "x"}, "bad one": {"command": "y"}}}"#)
                .unwrap_err()
                .to_string();
        assert!(err.contains("bad one"), "{err}");
        let err = parse_mcp_servers(r#"{"mcpServers": {"s": {"url": "ftp://x"}}}"#).unwrap_err().to_string();
        assert!(err.contains("http"), "{err}");
        let err = parse_mcp_servers("not json").unwrap_err().to_string();
        assert!(err.contains("not valid JSON"), "{err}");
        let err = parse_mcp_servers(r#"{"other": 1}"#).unwrap_err().to_string();
        assert!(err.contains("mcpServers"), "{err}");
    }
}
