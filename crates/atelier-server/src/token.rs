//! The access token kept in the data folder, shared by `atelier serve` and the desktop app's
//! embedded server so a link handed out once keeps working.

use std::io::Write;
use std::path::Path;

use rand::RngCore;

/// The token in `<data_dir>/token`, made on first use (readable by the owner only).
pub fn stored_token(data_dir: &Path) -> std::io::Result<String> {
    let path = data_dir.join("token");
    if let Ok(token) = std::fs::read_to_string(&path) {
        let token = token.trim().to_owned();
        if !token.is_empty() {
            return Ok(token);
        }
    }
    let mut bytes = [0u8; 24];
    rand::rng().fill_bytes(&mut bytes);
    let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    std::fs::create_dir_all(data_dir)?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&path)?;
    file.write_all(token.as_bytes())?;
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_is_made_once_and_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first = stored_token(dir.path()).expect("made");
        assert_eq!(first.len(), 48);
        assert_eq!(stored_token(dir.path()).expect("read"), first, "a second start reuses the token");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("token")).expect("meta").permissions().mode();
            assert_eq!(mode & 0o077, 0, "only the owner may read the token");
        }
    }
}
