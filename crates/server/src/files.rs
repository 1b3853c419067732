//! The client files written into the data directory: AWS shared credentials and config.

use std::io::Write;
use std::path::Path;

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    {
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts.open(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)
}

/// Writes the files when they are missing; existing files are never rewritten, so keys a
/// user saved elsewhere stay valid.
pub fn ensure_client_files(dir: &Path, access_key_id: &str, secret: &str) -> std::io::Result<()> {
    let creds = dir.join("credentials");
    if !creds.exists() {
        write_private(
            &creds,
            &format!(
                "[default]\naws_access_key_id = {access_key_id}\naws_secret_access_key = {secret}\n"
            ),
        )?;
    }
    let config = dir.join("config");
    if !config.exists() {
        write_private(&config, "[default]\nregion = us-east-1\n")?;
    }
    Ok(())
}
