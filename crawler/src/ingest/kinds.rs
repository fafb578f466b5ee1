//! What a file is: its kind as claimed (file name, then media type) and as its first bytes show
//! it, the size limit of its kind, and whether claim and content agree.

use platform::{EngineError, Result};

const MB: u64 = 1024 * 1024;

/// A kind of file the service ingests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileKind {
    /// PDF.
    Pdf,
    /// Markdown.
    Markdown,
    /// Plain text.
    Text,
    /// HTML.
    Html,
    /// Word (Office Open XML).
    Docx,
    /// PowerPoint (Office Open XML).
    Pptx,
    /// JSON.
    Json,
    /// YAML.
    Yaml,
    /// XML.
    Xml,
    /// Source code in a language.
    Code(&'static str),
    /// Audio in a container format.
    Audio(&'static str),
    /// Video in a container format.
    Video(&'static str),
}

/// Size classes with their limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SizeClass {
    /// Documents: 50 MB.
    Document,
    /// Data and code: 10 MB.
    DataOrCode,
    /// Audio: 100 MB.
    Audio,
    /// Video: 500 MB.
    Video,
}

impl SizeClass {
    /// The most bytes a file of this class may have.
    pub fn limit(self) -> u64 {
        match self {
            Self::Document => 50 * MB,
            Self::DataOrCode => 10 * MB,
            Self::Audio => 100 * MB,
            Self::Video => 500 * MB,
        }
    }
}

const CODE: &[(&str, &str)] = &[
    ("rs", "rust"),
    ("py", "python"),
    ("js", "javascript"),
    ("mjs", "javascript"),
    ("cjs", "javascript"),
    ("ts", "typescript"),
    ("tsx", "tsx"),
    ("jsx", "jsx"),
    ("go", "go"),
    ("java", "java"),
    ("kt", "kotlin"),
    ("c", "c"),
    ("h", "c"),
    ("cc", "cpp"),
    ("cpp", "cpp"),
    ("hpp", "cpp"),
    ("cs", "csharp"),
    ("rb", "ruby"),
    ("php", "php"),
    ("swift", "swift"),
    ("scala", "scala"),
    ("sh", "bash"),
    ("bash", "bash"),
    ("sql", "sql"),
    ("css", "css"),
    ("scss", "scss"),
    ("toml", "toml"),
    ("ini", "ini"),
    ("lua", "lua"),
    ("r", "r"),
    ("dart", "dart"),
    ("vue", "vue"),
    ("svelte", "svelte"),
];

impl FileKind {
    /// Its size class.
    pub fn class(&self) -> SizeClass {
        match self {
            Self::Pdf | Self::Markdown | Self::Text | Self::Html | Self::Docx | Self::Pptx => {
                SizeClass::Document
            }
            Self::Json | Self::Yaml | Self::Xml | Self::Code(_) => SizeClass::DataOrCode,
            Self::Audio(_) => SizeClass::Audio,
            Self::Video(_) => SizeClass::Video,
        }
    }

    /// A short name (`pdf`, `docx`, `code:rust`, `video:mp4`, ...).
    pub fn name(&self) -> String {
        match self {
            Self::Pdf => "pdf".into(),
            Self::Markdown => "markdown".into(),
            Self::Text => "text".into(),
            Self::Html => "html".into(),
            Self::Docx => "docx".into(),
            Self::Pptx => "pptx".into(),
            Self::Json => "json".into(),
            Self::Yaml => "yaml".into(),
            Self::Xml => "xml".into(),
            Self::Code(l) => format!("code:{l}"),
            Self::Audio(f) => format!("audio:{f}"),
            Self::Video(f) => format!("video:{f}"),
        }
    }

    /// The media type to store it with.
    pub fn media_type(&self) -> &'static str {
        match self {
            Self::Pdf => "application/pdf",
            Self::Markdown => "text/markdown",
            Self::Text | Self::Code(_) => "text/plain",
            Self::Html => "text/html",
            Self::Docx => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            Self::Pptx => {
                "application/vnd.openxmlformats-officedocument.presentationml.presentation"
            }
            Self::Json => "application/json",
            Self::Yaml => "application/yaml",
            Self::Xml => "application/xml",
            Self::Audio(_) => "audio/*",
            Self::Video(_) => "video/*",
        }
    }

    /// The kind a file name's extension names.
    pub fn from_filename(name: &str) -> Option<Self> {
        let ext = name.rsplit_once('.')?.1.to_ascii_lowercase();
        Some(match ext.as_str() {
            "pdf" => Self::Pdf,
            "md" | "markdown" | "mdx" => Self::Markdown,
            "txt" | "text" | "log" | "csv" | "tsv" | "rst" => Self::Text,
            "html" | "htm" | "xhtml" => Self::Html,
            "docx" => Self::Docx,
            "pptx" => Self::Pptx,
            "json" | "jsonl" | "ndjson" | "geojson" => Self::Json,
            "yaml" | "yml" => Self::Yaml,
            "xml" | "svg" | "rss" | "atom" => Self::Xml,
            "mp3" => Self::Audio("mp3"),
            "wav" => Self::Audio("wav"),
            "flac" => Self::Audio("flac"),
            "ogg" | "oga" | "opus" => Self::Audio("ogg"),
            "m4a" | "aac" => Self::Audio("m4a"),
            "mp4" | "m4v" => Self::Video("mp4"),
            "mov" => Self::Video("mov"),
            "webm" => Self::Video("webm"),
            "mkv" => Self::Video("mkv"),
            "avi" => Self::Video("avi"),
            "ogv" => Self::Video("ogg"),
            other => {
                return CODE
                    .iter()
                    .find(|(e, _)| *e == other)
                    .map(|(_, l)| Self::Code(l))
            }
        })
    }

    /// The kind a media type names.
    pub fn from_media_type(media: &str) -> Option<Self> {
        let m = media
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        Some(match m.as_str() {
            "application/pdf" => Self::Pdf,
            "text/markdown" | "text/x-markdown" => Self::Markdown,
            "text/plain" | "text/csv" => Self::Text,
            "text/html" | "application/xhtml+xml" => Self::Html,
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document" => Self::Docx,
            "application/vnd.openxmlformats-officedocument.presentationml.presentation" => {
                Self::Pptx
            }
            "application/json" | "application/ld+json" => Self::Json,
            "application/yaml" | "application/x-yaml" | "text/yaml" | "text/x-yaml" => Self::Yaml,
            "application/xml" | "text/xml" => Self::Xml,
            "audio/mpeg" | "audio/mp3" => Self::Audio("mp3"),
            "audio/wav" | "audio/x-wav" | "audio/wave" => Self::Audio("wav"),
            "audio/flac" => Self::Audio("flac"),
            "audio/ogg" | "audio/opus" => Self::Audio("ogg"),
            "audio/mp4" | "audio/aac" | "audio/x-m4a" => Self::Audio("m4a"),
            "video/mp4" => Self::Video("mp4"),
            "video/quicktime" => Self::Video("mov"),
            "video/webm" => Self::Video("webm"),
            "video/x-matroska" => Self::Video("mkv"),
            "video/x-msvideo" => Self::Video("avi"),
            "video/ogg" => Self::Video("ogg"),
            _ => return None,
        })
    }

    /// The kind a file claims to be: its name's extension, else its media type.
    pub fn claimed(filename: &str, media_type: Option<&str>) -> Option<Self> {
        Self::from_filename(filename).or_else(|| media_type.and_then(Self::from_media_type))
    }
}

/// What a file's first bytes show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sniffed {
    /// `%PDF-`.
    Pdf,
    /// A zip archive (Office documents are zips).
    Zip,
    /// UTF-8 text without NUL bytes.
    Text,
    /// Audio only (MP3, FLAC, WAV, M4A).
    Audio(&'static str),
    /// A container that may hold video (MP4/MOV, WebM/Matroska, AVI, Ogg).
    Media(&'static str),
    /// Anything else.
    Binary,
}

/// Look at a file's first bytes (8 KiB is plenty).
pub fn sniff(head: &[u8]) -> Sniffed {
    let at = |i: usize, m: &[u8]| head.len() >= i + m.len() && &head[i..i + m.len()] == m;
    if head.len() >= 5
        && head[..head.len().min(1024)]
            .windows(5)
            .any(|w| w == b"%PDF-")
    {
        return Sniffed::Pdf;
    }
    if at(0, b"PK\x03\x04") {
        return Sniffed::Zip;
    }
    if at(0, b"ID3")
        || (head.len() > 2 && head[0] == 0xFF && head[1] & 0xE0 == 0xE0 && head[1] & 0x06 != 0)
    {
        return Sniffed::Audio("mp3");
    }
    if at(0, b"fLaC") {
        return Sniffed::Audio("flac");
    }
    if at(0, b"RIFF") && at(8, b"WAVE") {
        return Sniffed::Audio("wav");
    }
    if at(0, b"RIFF") && at(8, b"AVI ") {
        return Sniffed::Media("avi");
    }
    if at(4, b"ftyp") {
        if at(8, b"M4A ") || at(8, b"M4B ") {
            return Sniffed::Audio("m4a");
        }
        if at(8, b"qt  ") {
            return Sniffed::Media("mov");
        }
        return Sniffed::Media("mp4");
    }
    if at(0, &[0x1A, 0x45, 0xDF, 0xA3]) {
        return Sniffed::Media("webm");
    }
    if at(0, b"OggS") {
        return Sniffed::Media("ogg");
    }
    let body = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    if !body.contains(&0) {
        match std::str::from_utf8(body) {
            Ok(_) => return Sniffed::Text,
            // A character cut at the end of the sample is still text.
            Err(e) if e.error_len().is_none() && body.len() - e.valid_up_to() < 4 => {
                return Sniffed::Text
            }
            Err(_) => {}
        }
    }
    Sniffed::Binary
}

/// Check that a file's content is what it claims to be; returns the kind to read it as. A file
/// that claims nothing is read as what its content shows, when that is clear.
pub fn verify(filename: &str, claimed: Option<FileKind>, head: &[u8]) -> Result<FileKind> {
    let sniffed = sniff(head);
    let refuse = |what: &str| {
        EngineError::UnsupportedFile(format!(
            "{filename:?} claims to be {what} but its content is {}",
            describe(sniffed)
        ))
    };
    let Some(kind) = claimed else {
        return match sniffed {
            Sniffed::Pdf => Ok(FileKind::Pdf),
            Sniffed::Text => Ok(FileKind::Text),
            Sniffed::Audio(f) => Ok(FileKind::Audio(f)),
            Sniffed::Media(f) => Ok(FileKind::Video(f)),
            Sniffed::Zip | Sniffed::Binary => Err(EngineError::UnsupportedFile(format!(
                "{filename:?}: the file's type is not one the service ingests ({}); \
                 name it with its extension",
                describe(sniffed)
            ))),
        };
    };
    let fits = matches!(
        (&kind, sniffed),
        (FileKind::Pdf, Sniffed::Pdf)
            | (FileKind::Docx | FileKind::Pptx, Sniffed::Zip)
            | (
                FileKind::Markdown
                    | FileKind::Text
                    | FileKind::Html
                    | FileKind::Json
                    | FileKind::Yaml
                    | FileKind::Xml
                    | FileKind::Code(_),
                Sniffed::Text,
            )
            | (FileKind::Audio(_), Sniffed::Audio(_) | Sniffed::Media(_))
            | (FileKind::Video(_), Sniffed::Media(_))
    );
    if !fits {
        return Err(refuse(&kind.name()));
    }
    Ok(match (kind, sniffed) {
        (FileKind::Audio(_), Sniffed::Audio(f) | Sniffed::Media(f)) => FileKind::Audio(f),
        (FileKind::Video(_), Sniffed::Media(f)) => FileKind::Video(f),
        (k, _) => k,
    })
}

/// [`verify`], then the size limit of the kind the content shows (a file that claimed nothing
/// was only held to the largest limit while it arrived).
pub fn check_file(
    filename: &str,
    claimed: Option<FileKind>,
    head: &[u8],
    size: u64,
) -> Result<FileKind> {
    let kind = verify(filename, claimed, head)?;
    let limit = kind.class().limit();
    if size > limit {
        return Err(EngineError::FileTooLarge(format!(
            "{filename:?} is {size} bytes; the limit for {} is {limit}",
            kind.name()
        )));
    }
    Ok(kind)
}

/// Up to `n` first bytes of a file (what [`sniff`] and header parsers look at).
pub async fn read_head(path: &std::path::Path, n: u64) -> std::io::Result<Vec<u8>> {
    use tokio::io::AsyncReadExt;
    let f = tokio::fs::File::open(path).await?;
    let mut head = Vec::with_capacity(n.min(1 << 20) as usize);
    f.take(n).read_to_end(&mut head).await?;
    Ok(head)
}

fn describe(s: Sniffed) -> String {
    match s {
        Sniffed::Pdf => "a PDF".into(),
        Sniffed::Zip => "a zip archive".into(),
        Sniffed::Text => "text".into(),
        Sniffed::Audio(f) => format!("{f} audio"),
        Sniffed::Media(f) => format!("a {f} media container"),
        Sniffed::Binary => "unrecognised binary data".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_come_from_names_then_media_types() {
        assert_eq!(FileKind::claimed("a.PDF", None), Some(FileKind::Pdf));
        assert_eq!(
            FileKind::claimed("main.rs", Some("application/octet-stream")),
            Some(FileKind::Code("rust"))
        );
        assert_eq!(
            FileKind::claimed("README", Some("text/markdown; charset=utf-8")),
            Some(FileKind::Markdown)
        );
        assert_eq!(FileKind::claimed("blob", Some("application/zip")), None);
        assert_eq!(FileKind::Video("mp4").class().limit(), 500 * MB);
        assert_eq!(FileKind::Docx.class().limit(), 50 * MB);
        assert_eq!(FileKind::Audio("mp3").class().limit(), 100 * MB);
        assert_eq!(FileKind::Json.class().limit(), 10 * MB);
    }

    #[test]
    fn content_must_match_the_claim() {
        assert_eq!(
            verify("a.pdf", Some(FileKind::Pdf), b"%PDF-1.7\n").unwrap(),
            FileKind::Pdf
        );
        let e = verify("a.pdf", Some(FileKind::Pdf), b"MZ\x90\x00\x03\x00").unwrap_err();
        assert_eq!(e.code(), "unsupported_file_type");
        assert!(e.to_string().contains("binary"), "{e}");
        assert!(verify("a.docx", Some(FileKind::Docx), b"plain words").is_err());
        assert!(verify("a.json", Some(FileKind::Json), b"{\"a\":\x00}").is_err());
        assert_eq!(
            verify(
                "clip.mp4",
                Some(FileKind::Video("mp4")),
                b"\0\0\0\x18ftypisom\0\0\0\0"
            )
            .unwrap(),
            FileKind::Video("mp4")
        );
        assert!(verify("song.mp3", Some(FileKind::Video("mp4")), b"ID3\x04\0\0\0").is_err());
        assert_eq!(
            verify("notes", None, "héllo".as_bytes()).unwrap(),
            FileKind::Text
        );
        // A multi-byte character cut by the sample's end is still text.
        assert_eq!(sniff(&"é".as_bytes()[..1]), Sniffed::Text);
    }
}
