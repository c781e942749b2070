//! Layers travel compressed; the blob's first bytes say how. Detecting it from
//! the magic numbers (rather than trusting a media type) lets `load` accept
//! archives whose manifests name the wrong one, as docker does.

use std::io::{self, Cursor, Read};

use super::LayerError;

/// How a layer blob is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// A plain tar stream.
    None,
    /// gzip (RFC 1952), possibly several members one after the other.
    Gzip,
    /// Zstandard frames.
    Zstd,
    /// bzip2 streams.
    Bzip2,
    /// xz streams.
    Xz,
}

/// The longest magic number below (xz's).
const MAGIC_LEN: usize = 6;

/// xz may ask for a dictionary of up to 1.5 GiB; a layer that needs more
/// memory than this to decompress is refused instead of exhausting the host.
const XZ_MEMORY_LIMIT: u64 = 256 << 20;

// ANCHOR: detect_compression
impl Compression {
    /// Recognises a compression from the first bytes of a blob.
    pub fn detect(head: &[u8]) -> Compression {
        if head.starts_with(&[0x1f, 0x8b]) {
            Compression::Gzip
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Compression::Zstd
        } else if head.starts_with(b"BZh") {
            Compression::Bzip2
        } else if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0x00]) {
            Compression::Xz
        } else {
            Compression::None
        }
    }
}

/// Detects the compression of a blob from its first bytes (gzip 1f8b, zstd
/// 28b52ffd, bzip2 "BZh", xz fd377a585a00, else plain) and returns a
/// decompressing reader.
pub fn decompress<'a>(
    mut reader: impl Read + 'a,
) -> Result<(Compression, Box<dyn Read + 'a>), LayerError> {
    let head = read_head(&mut reader).map_err(|source| LayerError::Read { source })?;
    let compression = Compression::detect(&head);
    // The bytes used to detect are put back in front of the rest.
    let whole = Cursor::new(head).chain(reader);
    let decompressed: Box<dyn Read + 'a> = match compression {
        Compression::None => Box::new(whole),
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(whole)),
        Compression::Zstd => Box::new(
            zstd::stream::read::Decoder::new(whole)
                .map_err(|source| LayerError::Read { source })?,
        ),
        Compression::Bzip2 => Box::new(bzip2::read::MultiBzDecoder::new(whole)),
        Compression::Xz => {
            let stream = liblzma::stream::Stream::new_stream_decoder(
                XZ_MEMORY_LIMIT,
                liblzma::stream::CONCATENATED,
            )
            .map_err(|e| LayerError::Read { source: e.into() })?;
            Box::new(liblzma::read::XzDecoder::new_stream(whole, stream))
        }
    };
    Ok((compression, decompressed))
}
// ANCHOR_END: detect_compression

/// Reads up to [`MAGIC_LEN`] bytes; fewer only when the blob is that short.
fn read_head(reader: &mut impl Read) -> io::Result<Vec<u8>> {
    let mut head = vec![0; MAGIC_LEN];
    let mut filled = 0;
    while filled < MAGIC_LEN {
        match reader.read(&mut head[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    head.truncate(filled);
    Ok(head)
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn roundtrip(compressed: Vec<u8>, expected: Compression) {
        let (found, mut reader) = decompress(&compressed[..]).unwrap();
        assert_eq!(found, expected);
        let mut out = Vec::new();
        reader.read_to_end(&mut out).unwrap();
        assert_eq!(out, b"hello layer");
    }

    #[test]
    fn plain_stream_passes_through() {
        roundtrip(b"hello layer".to_vec(), Compression::None);
    }

    #[test]
    fn gzip_is_detected_and_decoded() {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(b"hello layer").unwrap();
        roundtrip(enc.finish().unwrap(), Compression::Gzip);
    }

    #[test]
    fn zstd_is_detected_and_decoded() {
        roundtrip(
            zstd::encode_all(&b"hello layer"[..], 3).unwrap(),
            Compression::Zstd,
        );
    }

    #[test]
    fn bzip2_is_detected_and_decoded() {
        let mut enc = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
        enc.write_all(b"hello layer").unwrap();
        roundtrip(enc.finish().unwrap(), Compression::Bzip2);
    }

    #[test]
    fn xz_is_detected_and_decoded() {
        let mut enc = liblzma::write::XzEncoder::new(Vec::new(), 1);
        enc.write_all(b"hello layer").unwrap();
        roundtrip(enc.finish().unwrap(), Compression::Xz);
    }

    #[test]
    fn short_blobs_are_plain() {
        let (found, mut reader) = decompress(&b"ab"[..]).unwrap();
        assert_eq!(found, Compression::None);
        let mut out = Vec::new();
        reader.read_to_end(&mut out).unwrap();
        assert_eq!(out, b"ab");
    }
}
