//! Static files answered by the core without entering JS: whole-file GET/HEAD of regular files under a
//! top-level `StaticFiles` mount, with the same headers, validators and 304s as the TS `FileResponse`.
//! Anything else (directories, misses, ranges, `..`) falls through to the app, which decides.
use http::header::{
    HeaderValue, ACCEPT_ENCODING, ACCEPT_RANGES, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_LENGTH,
    CONTENT_TYPE, ETAG, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED, RANGE, VARY,
};
use http::{Method, Response, StatusCode};
use std::collections::HashMap;
use std::fs::{File, Metadata};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::body::ResponseBody;

/// A directory tree served under a URL prefix.
#[derive(Clone, Debug)]
pub struct StaticMount {
    /// URL prefix without a trailing slash, e.g. `/static`.
    pub prefix: String,
    /// Directories searched in order (already canonical).
    pub roots: Vec<PathBuf>,
    /// Serve symlinks that point outside the roots.
    pub follow_symlink: bool,
    /// `Cache-Control` for every file.
    pub cache_control: Option<String>,
}

/// Every mount plus the extension → media type table shared with the TS side.
#[derive(Clone, Debug, Default)]
pub struct Statics {
    /// The mounts, tried in order.
    pub mounts: Vec<StaticMount>,
    /// Lower-case extension (no dot) → media type.
    pub media_types: Arc<HashMap<String, String>>,
}

const VARIANTS: [(&str, &str); 2] = [(".br", "br"), (".gz", "gzip")];

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn accepted(headers: &http::HeaderMap, coding: &str) -> bool {
    headers.get_all(ACCEPT_ENCODING).iter().any(|v| {
        v.to_str().is_ok_and(|s| {
            s.split(',').any(|item| {
                let mut fields = item.split(';');
                let name = fields.next().unwrap_or("").trim();
                let q = fields
                    .filter_map(|f| f.trim().strip_prefix("q="))
                    .filter_map(|q| q.trim().parse::<f32>().ok())
                    .next()
                    .unwrap_or(1.0);
                name.eq_ignore_ascii_case(coding) && q > 0.0
            })
        })
    })
}

fn mtime_ms(meta: &Metadata) -> Option<u64> {
    let since = meta.modified().ok()?.duration_since(UNIX_EPOCH).ok()?;
    Some(since.as_millis() as u64)
}

/// Whether `openat2` works here (see [`Beneath::find`]).
#[cfg(target_os = "linux")]
static OPENAT2: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(true);

/// One root directory, for the lookups of one request: files beneath it are opened, and without
/// `follow_symlink` only if their real path stays beneath it (Starlette's rule).
struct Beneath<'a> {
    root: &'a Path,
    follow_symlink: bool,
    /// The root, opened for `openat2(RESOLVE_BENEATH)`: the kernel checks the rule while it walks the
    /// path, where resolving the real path first costs a `readlink` per component and a second
    /// walk. Opened per request, not kept: a root replaced on disk (a deploy's rename) is seen at once.
    #[cfg(target_os = "linux")]
    dir: Option<rustix::fd::OwnedFd>,
}

impl<'a> Beneath<'a> {
    fn new(root: &'a Path, follow_symlink: bool) -> Self {
        #[cfg(target_os = "linux")]
        let dir = (!follow_symlink && OPENAT2.load(std::sync::atomic::Ordering::Relaxed))
            .then(|| {
                use rustix::fs::{Mode, OFlags};
                let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC;
                rustix::fs::open(root, flags, Mode::empty()).ok()
            })
            .flatten();
        Beneath {
            root,
            follow_symlink,
            #[cfg(target_os = "linux")]
            dir,
        }
    }

    /// What is at `rel` (already free of `..`): a regular file, opened, with its metadata, or
    /// something else; `None` if nothing is there or it lies outside the root.
    fn find(&self, rel: &str) -> Option<Found> {
        #[cfg(target_os = "linux")]
        if let Some(dir) = &self.dir {
            use rustix::fs::{openat2, Mode, OFlags, ResolveFlags};
            let how = ResolveFlags::BENEATH | ResolveFlags::NO_MAGICLINKS;
            // Non-blocking, or a FIFO under the root would hold the thread until a writer came.
            let flags = OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NONBLOCK;
            match openat2(dir, rel, flags, Mode::empty(), how) {
                Ok(fd) => {
                    let file = File::from(fd);
                    let meta = file.metadata().ok()?;
                    return Some(Found::of(file, meta));
                }
                // A kernel before 5.6 has no openat2, and a seccomp filter that does not know it
                // (older container runtimes) refuses it with EPERM: resolve the real path instead,
                // from now on.
                Err(rustix::io::Errno::NOSYS | rustix::io::Errno::PERM) => {
                    OPENAT2.store(false, std::sync::atomic::Ordering::Relaxed);
                }
                Err(_) => return None,
            }
        }
        let candidate = self.root.join(rel);
        let full = if self.follow_symlink {
            candidate
        } else {
            let full = std::fs::canonicalize(&candidate).ok()?;
            full.starts_with(self.root).then_some(full)?
        };
        // Looked at before it is opened: opening a FIFO would wait for a writer.
        let meta = std::fs::metadata(&full).ok()?;
        if !meta.is_file() {
            return Some(Found::Other);
        }
        Some(Found::File(File::open(full).ok()?, meta))
    }
}

/// What a name beneath a root turned out to be.
enum Found {
    File(File, Metadata),
    /// A directory, a device, a FIFO: not for the core to send.
    Other,
}

impl Found {
    fn of(file: File, meta: Metadata) -> Found {
        if meta.is_file() {
            Found::File(file, meta)
        } else {
            Found::Other
        }
    }
}

impl Statics {
    /// The answer for `parts`, or `None` to let the app handle the request.
    pub(crate) fn serve(&self, parts: &http::request::Parts) -> Option<Response<ResponseBody>> {
        if self.mounts.is_empty()
            || !(parts.method == Method::GET || parts.method == Method::HEAD)
            || parts.headers.contains_key(RANGE)
        {
            return None;
        }
        let path = parts.uri.path();
        let mount = self.mounts.iter().find(|m| {
            path.len() > m.prefix.len() + 1
                && path.starts_with(&m.prefix)
                && path.as_bytes()[m.prefix.len()] == b'/'
        })?;
        let rel = percent_decode(&path[mount.prefix.len()..])?;
        if rel.contains('\0') {
            return None;
        }
        let segments: Vec<&str> = rel
            .split(['/', '\\'])
            .filter(|s| !s.is_empty() && *s != ".")
            .collect();
        if segments.is_empty() || segments.contains(&"..") {
            return None;
        }
        let rel = segments.join("/");
        // The first root holding the name decides, as in Starlette, even when it is no file.
        let (beneath, found) = mount.roots.iter().find_map(|root| {
            let beneath = Beneath::new(root, mount.follow_symlink);
            let found = beneath.find(&rel)?;
            Some((beneath, found))
        })?;
        let Found::File(file, meta) = found else {
            return None;
        };
        self.respond(parts, mount, &beneath, &rel, file, meta)
    }

    fn respond(
        &self,
        parts: &http::request::Parts,
        mount: &StaticMount,
        beneath: &Beneath,
        rel: &str,
        file: File,
        meta: Metadata,
    ) -> Option<Response<ResponseBody>> {
        let mut chosen = (file, meta);
        let mut encoding = None;
        let mut vary = false;
        for (suffix, coding) in VARIANTS {
            let Some(Found::File(file, meta)) = beneath.find(&format!("{rel}{suffix}")) else {
                continue;
            };
            vary = true;
            if encoding.is_none() && accepted(&parts.headers, coding) {
                chosen = (file, meta);
                encoding = Some(coding);
            }
        }
        let (file, meta) = chosen;
        let size = meta.len();
        let ms = mtime_ms(&meta)?;
        let etag = HeaderValue::from_str(&format!("\"{ms:x}-{size:x}\"")).ok()?;
        let modified = UNIX_EPOCH + Duration::from_secs(ms / 1000);
        let last_modified = HeaderValue::from_str(&httpdate::fmt_http_date(modified)).ok()?;
        let cache_control = mount
            .cache_control
            .as_deref()
            .and_then(|c| HeaderValue::from_str(c).ok());

        if not_modified(&parts.headers, &etag, modified) {
            let mut res = Response::new(ResponseBody::empty());
            *res.status_mut() = StatusCode::NOT_MODIFIED;
            let headers = res.headers_mut();
            if let Some(cc) = cache_control {
                headers.insert(CACHE_CONTROL, cc);
            }
            if vary {
                headers.insert(VARY, HeaderValue::from_static("Accept-Encoding"));
            }
            headers.insert(ETAG, etag);
            return Some(res);
        }

        let media = self.media_type(Path::new(rel));
        let mut res = Response::new(ResponseBody::file(file, size).ok()?);
        let headers = res.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_str(&media).ok()?);
        headers.insert(ACCEPT_RANGES, HeaderValue::from_static("bytes"));
        headers.insert(CONTENT_LENGTH, HeaderValue::from(size));
        headers.insert(LAST_MODIFIED, last_modified);
        headers.insert(ETAG, etag);
        if let Some(cc) = cache_control {
            headers.insert(CACHE_CONTROL, cc);
        }
        if vary {
            headers.insert(VARY, HeaderValue::from_static("Accept-Encoding"));
        }
        if let Some(coding) = encoding {
            headers.insert(CONTENT_ENCODING, HeaderValue::from_static(coding));
        }
        Some(res)
    }

    fn media_type(&self, path: &Path) -> String {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(|e| e.to_ascii_lowercase())
            .unwrap_or_default();
        let media = self
            .media_types
            .get(&ext)
            .map_or("application/octet-stream", |m| m.as_str());
        if media.starts_with("text/") && !media.contains("charset=") {
            format!("{media}; charset=utf-8")
        } else {
            media.to_string()
        }
    }
}

fn not_modified(headers: &http::HeaderMap, etag: &HeaderValue, modified: SystemTime) -> bool {
    if let Some(inm) = headers.get(IF_NONE_MATCH) {
        let Ok(inm) = inm.to_str() else { return false };
        let ours = etag.to_str().unwrap_or("");
        return inm.split(',').any(|tag| {
            let tag = tag.trim();
            tag == "*" || tag.trim_start_matches("W/") == ours
        });
    }
    let Some(since) = headers.get(IF_MODIFIED_SINCE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    httpdate::parse_http_date(since).is_ok_and(|since| modified <= since)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_percent_escapes_and_refuses_bad_ones() {
        assert_eq!(
            percent_decode("/a%20b/caf%C3%A9").as_deref(),
            Some("/a b/café")
        );
        assert_eq!(percent_decode("/bad%zz"), None);
        assert_eq!(percent_decode("/cut%2"), None);
    }

    #[test]
    fn without_openat2_the_real_path_must_stay_beneath_the_root() {
        let base = std::env::temp_dir().join(format!("starling-beneath-{}", std::process::id()));
        let root = base.join("root");
        std::fs::create_dir_all(root.join("dir")).unwrap();
        std::fs::write(root.join("file.txt"), "inside").unwrap();
        std::fs::write(base.join("secret.txt"), "outside").unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(base.join("secret.txt"), root.join("escape.txt")).unwrap();
        let root = std::fs::canonicalize(&root).unwrap();
        // As on a kernel without openat2 (or where a seccomp filter refuses it).
        let beneath = Beneath {
            root: &root,
            follow_symlink: false,
            #[cfg(target_os = "linux")]
            dir: None,
        };
        assert!(matches!(beneath.find("file.txt"), Some(Found::File(_, meta)) if meta.len() == 6));
        assert!(matches!(beneath.find("dir"), Some(Found::Other)));
        assert!(beneath.find("missing.txt").is_none());
        #[cfg(unix)]
        assert!(beneath.find("escape.txt").is_none());
        std::fs::remove_dir_all(base).unwrap();
    }

    #[test]
    fn reads_accept_encoding_with_qualities() {
        let mut h = http::HeaderMap::new();
        h.insert(ACCEPT_ENCODING, HeaderValue::from_static("gzip;q=0, br"));
        assert!(accepted(&h, "br"));
        assert!(!accepted(&h, "gzip"));
    }
}
