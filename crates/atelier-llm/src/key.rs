//! An API key that cannot leak through `Debug`: providers derive `Debug` and their keys print
//! as `<redacted>`, so a key never reaches a log line, an error or an event by accident.

/// A provider's API key. Read it only where it goes on the wire.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct ApiKey(String);

impl ApiKey {
    pub fn new(key: String) -> ApiKey {
        ApiKey(key)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// A header value holding a key, marked sensitive so HTTP-level logging skips it too.
pub(crate) fn header_value(key: &ApiKey) -> Result<reqwest::header::HeaderValue, crate::LlmError> {
    let mut value = reqwest::header::HeaderValue::from_str(key.expose()).map_err(|_| {
        crate::LlmError::InvalidRequest("the API key has characters an HTTP header cannot carry".into())
    })?;
    value.set_sensitive(true);
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_key() {
        let key = ApiKey::new("sk-secret-123".into());
        assert_eq!(format!("{key:?}"), "<redacted>");
        assert_eq!(format!("{:?}", Some(key)), "Some(<redacted>)");
    }
}
