//! The decompressed stream passes through one meter on its way to the tar
//! parser: it counts the bytes (to stop a compression bomb), and hashes them
//! (the layer's diff_id is the SHA-256 of exactly this stream).

use std::fmt::Write as _;
use std::io::{self, Read};

use sha2::{Digest, Sha256};

use super::LayerError;

/// A reader that hashes and counts what passes, and fails past a cap.
pub(super) struct Meter<R> {
    inner: R,
    hasher: Sha256,
    bytes: u64,
    max_bytes: u64,
    exceeded: bool,
}

// ANCHOR: size_cap
impl<R: Read> Read for Meter<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if self.bytes + n as u64 > self.max_bytes {
            // Remembered here, because the tar parser may wrap or replace the
            // error it gets; the caller asks `explain()` afterwards.
            self.exceeded = true;
            return Err(io::Error::other("layer size limit reached"));
        }
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
}
// ANCHOR_END: size_cap

impl<R: Read> Meter<R> {
    /// Meters `inner`, allowing at most `max_bytes`.
    pub(super) fn new(inner: R, max_bytes: u64) -> Self {
        Self {
            inner,
            hasher: Sha256::new(),
            bytes: 0,
            max_bytes,
            exceeded: false,
        }
    }

    /// Replaces an error by [`LayerError::TooLarge`] when the cap was the cause,
    /// whatever the tar parser made of the failed read.
    pub(super) fn explain(&self, error: LayerError) -> LayerError {
        if self.exceeded {
            LayerError::TooLarge {
                max: self.max_bytes,
            }
        } else {
            error
        }
    }

    /// Reads what is left (a tar stream ends with padding the parser never
    /// asks for, and the diff_id covers it too) and returns the
    /// `sha256:<hex>` digest and the byte count.
    pub(super) fn finish(mut self) -> Result<(String, u64), LayerError> {
        if let Err(source) = io::copy(&mut self, &mut io::sink()) {
            return Err(self.explain(LayerError::Read { source }));
        }
        let mut digest = String::from("sha256:");
        for byte in self.hasher.finalize() {
            write!(digest, "{byte:02x}").expect("writing to a String cannot fail");
        }
        Ok((digest, self.bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_everything_it_reads() {
        let meter = Meter::new(&b"abc"[..], 10);
        let (digest, bytes) = meter.finish().unwrap();
        assert_eq!(
            digest,
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(bytes, 3);
    }

    #[test]
    fn stops_past_the_cap() {
        let mut meter = Meter::new(&[0u8; 100][..], 99);
        io::copy(&mut meter, &mut io::sink()).unwrap_err();
        let explained = meter.explain(LayerError::Read {
            source: io::Error::other("x"),
        });
        assert!(matches!(explained, LayerError::TooLarge { max: 99 }));
    }

    #[test]
    fn exactly_the_cap_is_allowed() {
        let meter = Meter::new(&[0u8; 100][..], 100);
        assert_eq!(meter.finish().unwrap().1, 100);
    }
}
