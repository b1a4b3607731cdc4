//! Response compression done by the core: the app (GZipMiddleware) only marks a response with a
//! hint header; the core negotiates the coding with `Accept-Encoding` and compresses on a tokio
//! thread, so JS never touches the bytes.
use bytes::Bytes;
use http::header::{HeaderValue, CONTENT_ENCODING, CONTENT_LENGTH, VARY};
use http::Response;
use std::io::Write;

use crate::blocking;
use crate::body::ResponseBody;

/// Set by the app on responses it wants compressed: `gzip, br; minimum-size=500; level=9`.
pub const HINT_HEADER: &str = "x-starling-compress";

/// A content coding the core can produce.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Coding {
    Gzip,
    Brotli,
}

impl Coding {
    fn name(self) -> &'static str {
        match self {
            Coding::Gzip => "gzip",
            Coding::Brotli => "br",
        }
    }
}

#[derive(Debug, PartialEq)]
pub(crate) struct Hint {
    codings: Vec<Coding>,
    minimum_size: usize,
    level: u32,
}

pub(crate) fn parse_hint(value: &[u8]) -> Option<Hint> {
    let text = std::str::from_utf8(value).ok()?;
    let mut parts = text.split(';');
    let codings: Vec<Coding> = parts
        .next()?
        .split(',')
        .filter_map(|c| match c.trim() {
            "gzip" => Some(Coding::Gzip),
            "br" => Some(Coding::Brotli),
            _ => None,
        })
        .collect();
    let mut hint = Hint {
        codings,
        minimum_size: 500,
        level: 9,
    };
    for param in parts {
        let (key, value) = param.split_once('=')?;
        match key.trim() {
            "minimum-size" => hint.minimum_size = value.trim().parse().ok()?,
            "level" => hint.level = value.trim().parse::<u32>().ok()?.min(9),
            _ => {}
        }
    }
    (!hint.codings.is_empty()).then_some(hint)
}

/// The offered coding the client rates highest (ties go to the app's order); `None` if none is acceptable.
pub(crate) fn negotiate(accept: Option<&HeaderValue>, offered: &[Coding]) -> Option<Coding> {
    let accept = accept?.to_str().ok()?;
    let mut best: Option<(f32, usize, Coding)> = None;
    for item in accept.split(',') {
        let mut fields = item.split(';');
        let name = fields.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = fields
            .filter_map(|f| f.trim().strip_prefix("q="))
            .filter_map(|q| q.trim().parse::<f32>().ok())
            .next()
            .unwrap_or(1.0);
        if q <= 0.0 {
            continue;
        }
        for (rank, coding) in offered.iter().enumerate() {
            let matches = name == "*"
                || name == coding.name()
                || (name == "x-gzip" && *coding == Coding::Gzip);
            if matches && best.is_none_or(|(bq, br, _)| q > bq || (q == bq && rank < br)) {
                best = Some((q, rank, *coding));
            }
        }
    }
    best.map(|(_, _, c)| c)
}

/// Streams bytes through one coding, flushing after each chunk so streamed responses stay live.
pub(crate) enum Encoder {
    Gzip(Box<flate2::write::GzEncoder<Vec<u8>>>),
    Brotli(Box<brotli::CompressorWriter<Vec<u8>>>),
}

impl Encoder {
    fn new(coding: Coding, level: u32) -> Encoder {
        match coding {
            Coding::Gzip => Encoder::Gzip(Box::new(flate2::write::GzEncoder::new(
                Vec::new(),
                flate2::Compression::new(level),
            ))),
            // Brotli's top qualities are far slower than gzip 9 for little gain on the fly; 5 is its
            // usual choice for dynamic content.
            Coding::Brotli => Encoder::Brotli(Box::new(brotli::CompressorWriter::new(
                Vec::new(),
                16 * 1024,
                level.min(5),
                22,
            ))),
        }
    }

    /// Compresses `chunk` and returns what is ready to send.
    pub(crate) fn chunk(&mut self, chunk: &[u8]) -> std::io::Result<Bytes> {
        match self {
            Encoder::Gzip(e) => {
                e.write_all(chunk)?;
                e.flush()?;
                Ok(Bytes::from(std::mem::take(e.get_mut())))
            }
            Encoder::Brotli(e) => {
                e.write_all(chunk)?;
                e.flush()?;
                Ok(Bytes::from(std::mem::take(e.get_mut())))
            }
        }
    }

    /// Ends the stream and returns the trailer bytes.
    pub(crate) fn finish(self) -> std::io::Result<Bytes> {
        match self {
            Encoder::Gzip(e) => e.finish().map(Bytes::from),
            Encoder::Brotli(e) => Ok(Bytes::from(e.into_inner())),
        }
    }
}

/// The libdeflate level that stands for zlib's `level` on a whole body: output about as small (within
/// 2 % on text, JSON, HTML, CSV and JavaScript; often smaller) for less CPU, measured on a 100 KiB to
/// 1.8 MiB corpus (bench/RESULTS.md). Same number up to 5; zlib's 6 to 9 buy a few per cent with much
/// more work, which libdeflate's 5 and 6 match, where its own 8 and up search far longer.
fn whole_body_level(level: u32) -> libdeflater::CompressionLvl {
    let mapped = match level {
        0..=5 => level,
        6 => 5,
        _ => 6,
    };
    libdeflater::CompressionLvl::new(mapped as i32).unwrap_or_default()
}

fn compress_all(coding: Coding, level: u32, body: &[u8]) -> std::io::Result<Bytes> {
    match coding {
        // libdeflate compresses a buffer whole (no streaming state to keep), faster than zlib at a
        // given size of output; streamed bodies still go through zlib (`Encoder`).
        Coding::Gzip => {
            let mut compressor = libdeflater::Compressor::new(whole_body_level(level));
            let mut out = vec![0; compressor.gzip_compress_bound(body.len())];
            let written = compressor
                .gzip_compress(body, &mut out)
                .map_err(std::io::Error::other)?;
            out.truncate(written);
            Ok(Bytes::from(out))
        }
        Coding::Brotli => {
            let mut out = Vec::with_capacity(body.len() / 3);
            {
                let mut w = brotli::CompressorWriter::new(&mut out, 16 * 1024, level.min(5), 22);
                w.write_all(body)?;
            }
            Ok(Bytes::from(out))
        }
    }
}

/// Compresses a whole body, on the blocking pool when it is big (see `blocking.rs`).
async fn compress_whole(coding: Coding, level: u32, body: Bytes) -> std::io::Result<Bytes> {
    if body.len() <= blocking::INLINE_COMPRESS {
        return compress_all(coding, level, &body);
    }
    blocking::offload(move || compress_all(coding, level, &body)).await
}

/// Applies the app's compression hint, if any, to a finished response head and body.
///
/// `Ok`: the response goes out as it is (no hint on it). `Err`: the future that applies the hint,
/// boxed so that only hinted responses carry its state (the caller's future stays small).
pub(crate) fn apply(
    mut res: Response<ResponseBody>,
    accept: Option<HeaderValue>,
) -> Result<Response<ResponseBody>, Compressing> {
    match res.headers_mut().remove(HINT_HEADER) {
        None => Ok(res),
        Some(hint) => Err(Box::pin(async move {
            apply_hint(res, hint, accept.as_ref()).await
        })),
    }
}

/// A hinted response on its way through compression.
pub(crate) type Compressing =
    std::pin::Pin<Box<dyn std::future::Future<Output = Response<ResponseBody>> + Send>>;

async fn apply_hint(
    res: Response<ResponseBody>,
    hint: HeaderValue,
    accept: Option<&HeaderValue>,
) -> Response<ResponseBody> {
    let Some(hint) = parse_hint(hint.as_bytes()) else {
        return res;
    };
    if res.headers().contains_key(CONTENT_ENCODING) {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    // A whole body under the minimum goes out as is, without Vary: no client would get another.
    let body = match body.into_full() {
        Ok(bytes) if bytes.len() < hint.minimum_size => {
            return Response::from_parts(parts, ResponseBody::full(bytes))
        }
        other => other,
    };
    let varies = parts.headers.get_all(VARY).iter().any(|v| {
        v.to_str()
            .is_ok_and(|s| s.to_ascii_lowercase().contains("accept-encoding"))
    });
    if !varies {
        parts
            .headers
            .append(VARY, HeaderValue::from_static("Accept-Encoding"));
    }
    let Some(coding) = negotiate(accept, &hint.codings) else {
        let body = body.map_or_else(|stream| stream, ResponseBody::full);
        return Response::from_parts(parts, body);
    };
    let body = match body {
        Ok(bytes) => match compress_whole(coding, hint.level, bytes.clone()).await {
            Ok(compressed) => {
                parts
                    .headers
                    .insert(CONTENT_LENGTH, HeaderValue::from(compressed.len()));
                ResponseBody::full(compressed)
            }
            Err(_) => return Response::from_parts(parts, ResponseBody::full(bytes)),
        },
        Err(stream) => {
            parts.headers.remove(CONTENT_LENGTH);
            stream.compressed(Encoder::new(coding, hint.level))
        }
    };
    parts
        .headers
        .insert(CONTENT_ENCODING, HeaderValue::from_static(coding.name()));
    Response::from_parts(parts, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_hints() {
        let hint = parse_hint(b"gzip, br; minimum-size=10; level=6").unwrap();
        assert_eq!(hint.codings, vec![Coding::Gzip, Coding::Brotli]);
        assert_eq!((hint.minimum_size, hint.level), (10, 6));
        assert!(parse_hint(b"deflate").is_none());
        assert!(parse_hint(b"gzip; level=x").is_none());
    }

    #[test]
    fn negotiates_by_quality_then_app_order() {
        let both = [Coding::Gzip, Coding::Brotli];
        let accept = |s: &'static str| HeaderValue::from_static(s);
        assert_eq!(
            negotiate(Some(&accept("gzip, br")), &both),
            Some(Coding::Gzip)
        );
        assert_eq!(
            negotiate(Some(&accept("gzip;q=0.5, br")), &both),
            Some(Coding::Brotli)
        );
        assert_eq!(
            negotiate(Some(&accept("br;q=0, identity")), &[Coding::Brotli]),
            None
        );
        assert_eq!(
            negotiate(Some(&accept("*")), &[Coding::Brotli]),
            Some(Coding::Brotli)
        );
        assert_eq!(negotiate(None, &both), None);
    }

    #[test]
    fn round_trips_gzip_streams() {
        use std::io::Read;
        let mut e = Encoder::new(Coding::Gzip, 6);
        let mut out = e.chunk(b"hello ").unwrap().to_vec();
        out.extend_from_slice(&e.chunk(b"world").unwrap());
        out.extend_from_slice(&e.finish().unwrap());
        let mut text = String::new();
        flate2::read::GzDecoder::new(&out[..])
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(text, "hello world");
    }

    #[test]
    fn whole_bodies_round_trip_at_every_level_and_higher_levels_shrink_them() {
        use std::io::Read;
        let body: Vec<u8> = (0..20_000u32)
            .flat_map(|i| format!("{{\"id\":{i},\"name\":\"user-{}\"}},", i % 97).into_bytes())
            .collect();
        let mut sizes = Vec::new();
        for level in 0..=9 {
            let packed = compress_all(Coding::Gzip, level, &body).unwrap();
            let mut back = Vec::new();
            flate2::read::GzDecoder::new(&packed[..])
                .read_to_end(&mut back)
                .unwrap();
            assert_eq!(back, body, "level {level}");
            sizes.push(packed.len());
        }
        assert!(sizes[0] > body.len(), "level 0 stores");
        assert!(sizes[9] < sizes[1] && sizes[1] < sizes[0], "{sizes:?}");
        assert!(compress_all(Coding::Gzip, 9, b"").is_ok());
    }
}
