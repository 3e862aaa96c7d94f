//! Checksummed text files: a body followed by a last line `crc32 XXXXXXXX` over it. The
//! manifest and the publication log are written this way, so that a damaged file is
//! detected when it is read, and never trusted.

use anyhow::{bail, Context};

/// `body` with its checksum line appended.
pub(crate) fn seal(body: &str) -> String {
    let body = body.strip_suffix('\n').unwrap_or(body);
    let crc = crc32fast::hash(body.as_bytes());
    format!("{body}\ncrc32 {crc:08x}\n")
}

/// The body of sealed `text`, once its checksum is checked; `what` names the file in errors.
pub(crate) fn unseal<'a>(text: &'a str, what: &str) -> anyhow::Result<&'a str> {
    let text = text.strip_suffix('\n').unwrap_or(text);
    let (body, crc_line) = text.rsplit_once('\n').unwrap_or(("", text));
    let Some(expected) = crc_line.strip_prefix("crc32 ") else {
        bail!("{what} has no checksum line (damaged or written by an older weir)");
    };
    let expected = expected.trim();
    if expected.len() != 8 {
        bail!("{what}'s checksum line is cut short (damaged)");
    }
    let expected = u32::from_str_radix(expected, 16)
        .with_context(|| format!("{what}'s checksum is not hexadecimal"))?;
    if crc32fast::hash(body.as_bytes()) != expected {
        bail!("{what}'s checksum does not match its contents (damaged)");
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_text_reads_back_and_any_change_is_detected() {
        for body in ["", "one line", "{\"a\":1}\n{\"b\":2}\n"] {
            let sealed = seal(body);
            assert_eq!(
                unseal(&sealed, "the file").unwrap(),
                body.trim_end_matches('\n')
            );
            let bytes = sealed.as_bytes();
            for at in 0..bytes.len() {
                let mut damaged = bytes.to_vec();
                damaged[at] ^= 0x01;
                let Ok(damaged) = String::from_utf8(damaged) else {
                    continue;
                };
                // A flipped bit is caught, unless it only turns the final newline into
                // another trailing character that parsing would not see.
                if at + 1 == bytes.len() {
                    continue;
                }
                assert!(
                    unseal(&damaged, "the file").is_err(),
                    "flip at {at} of {sealed:?}"
                );
            }
            assert!(unseal(&sealed[..sealed.len() / 2], "the file").is_err());
        }
    }
}
