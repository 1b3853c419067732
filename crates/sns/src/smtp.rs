//! A minimal SMTP client for email subscriptions: one message per connection to the
//! relay given as `smtp://[user:pass@]host:port` (EHLO or HELO, AUTH PLAIN when the URL
//! has credentials, MAIL FROM, RCPT TO, DATA with dot-stuffing, QUIT). No TLS: the relay
//! is expected on a trusted network, as a local MTA is.

use base64::Engine as _;
use chrono::Utc;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// The longest reply line read; SMTP limits them to 512 bytes.
const MAX_LINE: usize = 4096;
/// Body lines longer than this are sent base64-encoded (SMTP caps lines at 998).
const MAX_PLAIN_LINE: usize = 900;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relay {
    pub host: String,
    pub port: u16,
    pub credentials: Option<(String, String)>,
}

/// Why a message was not accepted: a 4xx reply or a broken connection may pass if
/// tried again, a 5xx reply will not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SmtpError {
    Transient(String),
    Permanent(String),
}

impl std::fmt::Display for SmtpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SmtpError::Transient(m) => write!(f, "smtp (will retry): {m}"),
            SmtpError::Permanent(m) => write!(f, "smtp (refused): {m}"),
        }
    }
}

/// `%XX` escapes of a URL's user-info decoded.
fn percent_decode(s: &str) -> String {
    let hex = |b: u8| (b as char).to_digit(16);
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let (Some(h), Some(l)) = (
                bytes.get(i + 1).copied().and_then(hex),
                bytes.get(i + 2).copied().and_then(hex),
            )
        {
            out.push((h * 16 + l) as u8);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl Relay {
    /// Reads `smtp://[user:pass@]host[:port]` (port 25 when absent).
    pub fn parse(url: &str) -> Result<Relay, String> {
        let rest = url
            .strip_prefix("smtp://")
            .ok_or_else(|| format!("SMTP relay URL must start with smtp:// ({url})"))?;
        let rest = rest.split(['/', '?']).next().unwrap_or("");
        let (auth, hostport) = match rest.rsplit_once('@') {
            Some((a, h)) => (Some(a), h),
            None => (None, rest),
        };
        let credentials = auth.map(|a| {
            let (u, p) = a.split_once(':').unwrap_or((a, ""));
            (percent_decode(u), percent_decode(p))
        });
        let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
            let (h, after) = v6
                .split_once(']')
                .ok_or_else(|| format!("bad SMTP relay host in {url}"))?;
            (h.to_owned(), after.strip_prefix(':'))
        } else {
            match hostport.rsplit_once(':') {
                Some((h, p)) => (h.to_owned(), Some(p)),
                None => (hostport.to_owned(), None),
            }
        };
        if host.is_empty() {
            return Err(format!("SMTP relay URL has no host ({url})"));
        }
        let port = match port {
            None => 25,
            Some(p) => p
                .parse()
                .map_err(|_| format!("bad SMTP relay port in {url}"))?,
        };
        Ok(Relay {
            host,
            port,
            credentials,
        })
    }

    /// Sends one message; `data` is the message (headers and body) with CRLF lines.
    pub async fn send(
        &self,
        from: &str,
        to: &str,
        data: &str,
        timeout: Duration,
    ) -> Result<(), SmtpError> {
        tokio::time::timeout(timeout, self.session(from, to, data))
            .await
            .unwrap_or_else(|_| Err(SmtpError::Transient("timed out".into())))
    }

    async fn session(&self, from: &str, to: &str, data: &str) -> Result<(), SmtpError> {
        let stream = TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(|e| {
                SmtpError::Transient(format!("connect {}:{}: {e}", self.host, self.port))
            })?;
        let (read, mut write) = stream.into_split();
        let mut read = BufReader::new(read);
        expect(&mut read, &[220]).await?;
        command(&mut write, "EHLO sightline").await?;
        if expect(&mut read, &[250]).await.is_err() {
            command(&mut write, "HELO sightline").await?;
            expect(&mut read, &[250]).await?;
        }
        if let Some((user, pass)) = &self.credentials {
            let token =
                base64::engine::general_purpose::STANDARD.encode(format!("\0{user}\0{pass}"));
            command(&mut write, &format!("AUTH PLAIN {token}")).await?;
            expect(&mut read, &[235]).await?;
        }
        command(&mut write, &format!("MAIL FROM:<{from}>")).await?;
        expect(&mut read, &[250]).await?;
        command(&mut write, &format!("RCPT TO:<{to}>")).await?;
        expect(&mut read, &[250, 251]).await?;
        command(&mut write, "DATA").await?;
        expect(&mut read, &[354]).await?;
        write
            .write_all(dot_stuff(data).as_bytes())
            .await
            .map_err(io)?;
        write.write_all(b".\r\n").await.map_err(io)?;
        write.flush().await.map_err(io)?;
        expect(&mut read, &[250]).await?;
        // The message is accepted; a relay that drops the line before answering QUIT
        // changes nothing.
        let _ = command(&mut write, "QUIT").await;
        Ok(())
    }
}

fn io(e: std::io::Error) -> SmtpError {
    SmtpError::Transient(e.to_string())
}

async fn command(w: &mut tokio::net::tcp::OwnedWriteHalf, line: &str) -> Result<(), SmtpError> {
    w.write_all(line.as_bytes()).await.map_err(io)?;
    w.write_all(b"\r\n").await.map_err(io)?;
    Ok(())
}

/// Reads one (possibly multi-line) reply and checks its code.
async fn expect(
    r: &mut BufReader<tokio::net::tcp::OwnedReadHalf>,
    codes: &[u16],
) -> Result<(), SmtpError> {
    let last = loop {
        let mut line = Vec::new();
        let n = (&mut *r)
            .take(MAX_LINE as u64)
            .read_until(b'\n', &mut line)
            .await
            .map_err(io)?;
        if n == 0 {
            return Err(SmtpError::Transient(
                "connection closed by the relay".into(),
            ));
        }
        let text = String::from_utf8_lossy(&line).trim_end().to_owned();
        // `250-…` lines continue a reply; `250 …` ends it.
        if text.as_bytes().get(3) != Some(&b'-') {
            break text;
        }
    };
    let code: u16 = last.get(..3).and_then(|c| c.parse().ok()).unwrap_or(0);
    if codes.contains(&code) {
        Ok(())
    } else if (500..600).contains(&code) {
        Err(SmtpError::Permanent(last))
    } else {
        Err(SmtpError::Transient(last))
    }
}

/// CRLF line endings, a leading `.` doubled, and a final line break.
pub fn dot_stuff(data: &str) -> String {
    let mut out = String::with_capacity(data.len() + 16);
    for line in data.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.starts_with('.') {
            out.push('.');
        }
        out.push_str(line);
        out.push_str("\r\n");
    }
    if data.ends_with('\n') {
        // `split` yields an empty last piece after a final newline.
        out.truncate(out.len() - 2);
    }
    out
}

/// A header value: as is when it is plain ASCII, else an RFC 2047 encoded word.
fn header_text(s: &str) -> String {
    if s.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        s.to_owned()
    } else {
        format!(
            "=?UTF-8?B?{}?=",
            base64::engine::general_purpose::STANDARD.encode(s)
        )
    }
}

/// The message for the relay: headers and a plain-text UTF-8 body.
pub fn compose(from_name: &str, from: &str, to: &str, subject: &str, body: &str) -> String {
    let name = if from_name.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        format!(
            "\"{}\"",
            from_name.replace('\\', "\\\\").replace('"', "\\\"")
        )
    } else {
        header_text(from_name)
    };
    let long = body.lines().any(|l| l.len() > MAX_PLAIN_LINE) || body.contains('\r');
    let (encoding, text) = if long {
        let b64 = base64::engine::general_purpose::STANDARD.encode(body);
        let wrapped: Vec<&str> = b64
            .as_bytes()
            .chunks(76)
            .map(|c| std::str::from_utf8(c).unwrap_or(""))
            .collect();
        ("base64", wrapped.join("\r\n"))
    } else {
        ("8bit", body.replace('\n', "\r\n"))
    };
    format!(
        "From: {name} <{from}>\r\nTo: {to}\r\nSubject: {}\r\nDate: {}\r\nMessage-ID: <{}@sightline>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: {encoding}\r\n\r\n{text}\r\n",
        header_text(subject),
        Utc::now().to_rfc2822(),
        uuid::Uuid::new_v4(),
    )
}

/// Addresses email subscriptions may name: `local@domain`, nothing an SMTP command
/// line could be bent by.
pub fn valid_address(a: &str) -> bool {
    let Some((local, domain)) = a.rsplit_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && a.len() <= 254
        && a.bytes().all(|b| {
            b.is_ascii_graphic()
                && !matches!(b, b'<' | b'>' | b'(' | b')' | b',' | b';' | b'"' | b'\\')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relay_urls_parse() {
        let r = Relay::parse("smtp://127.0.0.1:2525").unwrap();
        assert_eq!(
            (r.host.as_str(), r.port, r.credentials),
            ("127.0.0.1", 2525, None)
        );
        let r = Relay::parse("smtp://me%40x:p%3Ass@mail.example:587").unwrap();
        assert_eq!(r.credentials, Some(("me@x".into(), "p:ss".into())));
        assert_eq!(Relay::parse("smtp://relay").unwrap().port, 25);
        assert!(Relay::parse("http://relay").is_err());
        assert!(Relay::parse("smtp://:25").is_err());
    }

    #[test]
    fn lines_starting_with_a_dot_are_stuffed() {
        assert_eq!(dot_stuff("a\n.b\n..c\n"), "a\r\n..b\r\n...c\r\n");
        assert_eq!(dot_stuff("x"), "x\r\n");
    }

    #[test]
    fn addresses_are_checked() {
        assert!(valid_address("ops@example.com"));
        assert!(!valid_address("ops@localhost"));
        assert!(!valid_address("ops"));
        assert!(!valid_address("a b@example.com"));
        assert!(!valid_address("a@example.com>\r\nRCPT TO:<b@example.com"));
    }

    #[test]
    fn non_ascii_headers_are_encoded() {
        let m = compose("Caf\u{e9}", "n@x.org", "t@x.org", "S\u{fc}bject", "hi\n");
        assert!(m.contains("Subject: =?UTF-8?B?"));
        assert!(m.contains("From: =?UTF-8?B?"));
        assert!(m.ends_with("hi\r\n\r\n"));
    }
}
