//! What a deadline's submission must hold (`requires`): text of at least so many characters,
//! at least so many photos, each photo's caption (its file name) at most so long. Photos are
//! told by their bytes, never by the name or the type a browser claims.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::field::{FieldError, Report};

/// `requires` of a unit deadline, as sent.
#[derive(Debug, Default, Clone, Deserialize, Serialize, ToSchema, PartialEq, Eq)]
#[schema(example = json!({"text_min_chars": 300, "photos_min": 2, "caption_max_chars": 10}))]
pub struct Requires {
    /// The text's characters, spaces and line breaks not counted.
    pub text_min_chars: Option<u32>,
    /// Files whose bytes are a JPEG, PNG, GIF, WebP or HEIC image.
    pub photos_min: Option<u32>,
    /// A photo's caption is its file name without the extension.
    pub caption_max_chars: Option<u32>,
}

/// What a file is, by its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Photo,
    Other,
}

impl FileKind {
    /// The kind of a file that begins with `head` (its first 16 bytes suffice).
    pub fn sniff(head: &[u8]) -> FileKind {
        let photo = head.starts_with(&[0xFF, 0xD8, 0xFF])
            || head.starts_with(b"\x89PNG\r\n\x1a\n")
            || head.starts_with(b"GIF87a")
            || head.starts_with(b"GIF89a")
            || (head.starts_with(b"RIFF") && head.get(8..12) == Some(b"WEBP"))
            || (head.get(4..8) == Some(b"ftyp")
                && matches!(head.get(8..12), Some(b"heic" | b"heix" | b"mif1" | b"avif")));
        if photo { FileKind::Photo } else { FileKind::Other }
    }
}

/// The type a submitted file is stored and served as, told by its first bytes `head` (16 are
/// enough) and, among the office formats that share a container, by its name's extension; `None`
/// when a submission does not take it. A browser's claim is never used: a page served as what
/// the uploader said it was could run in this site's name.
pub fn content_type(head: &[u8], name: &str) -> Option<&'static str> {
    let extension = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
    let ftyp = (head.get(4..8) == Some(b"ftyp")).then(|| head.get(8..12)).flatten();
    Some(if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
        "image/jpeg"
    } else if head.starts_with(b"\x89PNG\r\n\x1a\n") {
        "image/png"
    } else if head.starts_with(b"GIF87a") || head.starts_with(b"GIF89a") {
        "image/gif"
    } else if head.starts_with(b"RIFF") && head.get(8..12) == Some(b"WEBP") {
        "image/webp"
    } else if matches!(ftyp, Some(b"heic" | b"heix" | b"mif1")) {
        "image/heic"
    } else if ftyp == Some(b"avif") {
        "image/avif"
    } else if matches!(ftyp, Some(b"isom" | b"iso2" | b"mp41" | b"mp42" | b"avc1" | b"M4V ")) {
        "video/mp4"
    } else if head.starts_with(b"%PDF-") {
        "application/pdf"
    } else if head.starts_with(b"PK\x03\x04") {
        match extension.as_str() {
            "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "pptx" => "application/vnd.openxmlformats-officedocument.presentationml.presentation",
            "odt" => "application/vnd.oasis.opendocument.text",
            "ods" => "application/vnd.oasis.opendocument.spreadsheet",
            "odp" => "application/vnd.oasis.opendocument.presentation",
            _ => "application/octet-stream",
        }
    } else if head.starts_with(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]) {
        match extension.as_str() {
            "doc" => "application/msword",
            "xls" => "application/vnd.ms-excel",
            "ppt" => "application/vnd.ms-powerpoint",
            _ => "application/octet-stream",
        }
    } else {
        return None;
    })
}

/// One file of a submission, as the rules see it.
#[derive(Debug, Clone)]
pub struct SubmittedFile {
    pub name: String,
    pub kind: FileKind,
}

impl SubmittedFile {
    /// The caption a photo carries: its file name without the extension.
    pub fn caption(&self) -> &str {
        match self.name.rsplit_once('.') {
            Some((stem, _)) if !stem.is_empty() => stem,
            _ => &self.name,
        }
    }
}

impl Requires {
    /// Every rule `text` and `files` break, each named: `text`, `files`, or `files[i]`.
    pub fn check(&self, text: &str, files: &[SubmittedFile]) -> Vec<FieldError> {
        let mut report = Report::default();
        let chars = text.chars().filter(|c| !c.is_whitespace()).count();
        if let Some(min) = self.text_min_chars
            && chars < min as usize
        {
            report.push("text", format!("must be at least {min} characters (spaces not counted); it has {chars}"));
        }
        let photos: Vec<(usize, &SubmittedFile)> =
            files.iter().enumerate().filter(|(_, f)| f.kind == FileKind::Photo).collect();
        if let Some(min) = self.photos_min
            && photos.len() < min as usize
        {
            report.push(
                "files",
                format!("must hold at least {min} photos (JPEG, PNG, GIF, WebP or HEIC); it holds {}", photos.len()),
            );
        }
        if let Some(max) = self.caption_max_chars {
            for (i, photo) in photos {
                let length = photo.caption().chars().count();
                if length > max as usize {
                    report.push(
                        &format!("files[{i}]"),
                        format!(
                            "the caption '{}' (the file's name) is {length} characters; at most {max}",
                            photo.caption()
                        ),
                    );
                }
            }
        }
        report.finish(Some(())).err().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const JPEG: &[u8] = &[0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, b'J', b'F', b'I', b'F'];

    fn file(name: &str, head: &[u8]) -> SubmittedFile {
        SubmittedFile { name: name.into(), kind: FileKind::sniff(head) }
    }

    fn liaoning() -> Requires {
        Requires { text_min_chars: Some(300), photos_min: Some(2), caption_max_chars: Some(10) }
    }

    #[test]
    fn a_short_text_and_one_photo_break_both_rules_each_named() {
        let errors = liaoning().check(&"展".repeat(200), &[file("开幕式现场.jpg", JPEG)]);
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["text", "files"]);
        assert!(errors[0].message.contains("300") && errors[0].message.contains("200"), "{errors:?}");
        assert!(errors[1].message.contains("at least 2 photos") && errors[1].message.contains("holds 1"));
    }

    #[test]
    fn enough_text_and_photos_with_short_captions_pass() {
        let text = format!("{}\n\n{}", "终".repeat(150), "身 学 习".repeat(50));
        let files = [
            file("开幕式现场.jpg", JPEG),
            file("社区课堂.PNG", b"\x89PNG\r\n\x1a\n\0\0"),
            file("方案.pdf", b"%PDF-1.7"),
        ];
        assert!(liaoning().check(&text, &files).is_empty());
    }

    #[test]
    fn a_photo_is_told_by_its_bytes_and_its_caption_by_its_name() {
        // A PDF named .jpg is no photo; a PNG named .dat is one.
        let files = [file("照片.jpg", b"%PDF-1.7"), file("市民学习周活动掠影合集.dat", b"\x89PNG\r\n\x1a\n\0\0")];
        let errors = liaoning().check(&"字".repeat(300), &files);
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["files", "files[1]"]);
        assert!(errors[1].message.contains("'市民学习周活动掠影合集'") && errors[1].message.contains("11 characters"));
        assert_eq!(FileKind::sniff(b"RIFF\0\0\0\0WEBPVP8 "), FileKind::Photo);
        assert_eq!(FileKind::sniff(b"\0\0\0\x18ftypheic"), FileKind::Photo);
        assert_eq!(FileKind::sniff(b"\0\0\0\x18ftypisom"), FileKind::Other, "an mp4 is no photo");
        assert_eq!(file(".jpg", JPEG).caption(), ".jpg");
    }

    #[test]
    fn images_documents_and_video_are_taken_as_their_bytes_say_and_nothing_else() {
        for (head, name, served) in [
            (JPEG, "现场.png", "image/jpeg"),
            (&b"%PDF-1.7\n"[..], "总结.pdf", "application/pdf"),
            (
                b"PK\x03\x04\x14\0",
                "方案.DOCX",
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            ),
            (b"PK\x03\x04\x14\0", "方案.html", "application/octet-stream"),
            (b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1", "名单.xls", "application/vnd.ms-excel"),
            (b"\0\0\0\x20ftypisom\0\0", "案例.mp4", "video/mp4"),
        ] {
            assert_eq!(content_type(head, name), Some(served), "{name}");
        }
        for head in [&b"MZ\x90\0"[..], b"#!/bin/sh", b"<html>", b""] {
            assert_eq!(content_type(head, "photo.jpg"), None, "{head:?}");
        }
    }

    #[test]
    fn no_rules_no_errors() {
        assert!(Requires::default().check("", &[]).is_empty());
    }
}
