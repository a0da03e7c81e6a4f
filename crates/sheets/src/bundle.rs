//! A zip of submitted materials, written as it goes to a writer that cannot seek (the HTTP
//! response): a folder per venue or unit, every name valid on Windows, where the organisers open
//! it. Entries are stored, not compressed: photos, video and office files are compressed already.

use std::collections::HashSet;
use std::io::{self, Write};

use zip::write::{SimpleFileOptions, StreamWriter};
use zip::{CompressionMethod, DateTime, ZipWriter};

/// The longest name kept, in characters, extension included: paths stay short on Windows.
const NAME_MAX: usize = 100;

pub struct Bundle<W: Write> {
    zip: ZipWriter<StreamWriter<W>>,
    /// The paths written so far, as Windows compares them (case aside).
    taken: HashSet<String>,
}

impl<W: Write> Bundle<W> {
    pub fn new(out: W) -> Self {
        Bundle { zip: ZipWriter::new_stream(out), taken: HashSet::new() }
    }

    /// Starts `name` in `folder`, both made valid on Windows, and another name than any before
    /// (`照片 (2).jpg`); `size` says whether the entry needs zip64; `at` is its time,
    /// `(year, month, day, hour, minute, second)` on the readers' clock.
    pub fn start(&mut self, folder: &str, name: &str, size: u64, at: (u16, u8, u8, u8, u8, u8)) -> io::Result<String> {
        let folder = windows_name(folder);
        let path = self.unique(&folder, &windows_name(name));
        let (y, mo, d, h, mi, s) = at;
        let options = SimpleFileOptions::default()
            .compression_method(CompressionMethod::Stored)
            .large_file(size >= u32::MAX as u64)
            .last_modified_time(DateTime::from_date_and_time(y, mo, d, h, mi, s).unwrap_or_default());
        self.zip.start_file(path.as_str(), options).map_err(io::Error::other)?;
        Ok(path)
    }

    pub fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.zip.write_all(bytes)
    }

    /// Writes the central directory; the writer it wrote to.
    pub fn finish(self) -> io::Result<W> {
        Ok(self.zip.finish().map_err(io::Error::other)?.into_inner())
    }

    fn unique(&mut self, folder: &str, name: &str) -> String {
        let (stem, extension) = match name.rsplit_once('.') {
            Some((stem, extension)) if !stem.is_empty() => (stem, format!(".{extension}")),
            _ => (name, String::new()),
        };
        let mut path = format!("{folder}/{name}");
        let mut n = 1;
        while !self.taken.insert(path.to_lowercase()) {
            n += 1;
            path = format!("{folder}/{stem} ({n}){extension}");
        }
        path
    }
}

/// `name` as Windows takes it for a file or folder: no `<>:"/\|?*` or control characters, no
/// trailing dot or space, none of its reserved device names, at most [`NAME_MAX`] characters
/// with the extension kept, never empty.
pub fn windows_name(name: &str) -> String {
    let cleaned: String =
        name.chars()
            .map(|c| {
                if c.is_control() || matches!(c, '<' | '>' | ':' | '"' | '/' | '\\' | '|' | '?' | '*') {
                    '_'
                } else {
                    c
                }
            })
            .collect();
    let mut cleaned = cleaned.trim().trim_end_matches(['.', ' ']).to_owned();
    if cleaned.chars().count() > NAME_MAX {
        let extension = match cleaned.rsplit_once('.') {
            Some((_, e)) if e.chars().count() <= 10 => format!(".{e}"),
            _ => String::new(),
        };
        let keep = NAME_MAX - extension.chars().count();
        cleaned = cleaned.chars().take(keep).collect::<String>() + &extension;
    }
    let base = cleaned.split('.').next().unwrap_or_default().trim_end().to_ascii_uppercase();
    let reserved = matches!(base.as_str(), "CON" | "PRN" | "AUX" | "NUL")
        || (base.len() == 4
            && (base.starts_with("COM") || base.starts_with("LPT"))
            && base.as_bytes()[3].is_ascii_digit()
            && base.as_bytes()[3] != b'0');
    if reserved || cleaned.is_empty() { format!("_{cleaned}") } else { cleaned }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_made_valid_on_windows() {
        assert_eq!(windows_name("开幕式现场.jpg"), "开幕式现场.jpg");
        assert_eq!(windows_name("a/b\\c:d*e?f\"g<h>i|j.pdf"), "a_b_c_d_e_f_g_h_i_j.pdf");
        assert_eq!(windows_name("总结. . "), "总结");
        assert_eq!(windows_name("CON.txt"), "_CON.txt");
        assert_eq!(windows_name("com1"), "_com1");
        assert_eq!(windows_name("COM0.txt"), "COM0.txt");
        assert_eq!(windows_name("..."), "_");
        assert_eq!(windows_name("tab\there"), "tab_here");
        let long = format!("{}.docx", "长".repeat(150));
        let kept = windows_name(&long);
        assert_eq!(kept.chars().count(), NAME_MAX);
        assert!(kept.ends_with(".docx"));
    }

    #[test]
    fn a_bundle_opens_with_every_name_once() {
        let mut bundle = Bundle::new(Vec::new());
        let at = (2020, 10, 21, 9, 30, 0);
        assert_eq!(bundle.start("大连市教育局", "照片.jpg", 3, at).unwrap(), "大连市教育局/照片.jpg");
        bundle.write_all(b"one").unwrap();
        assert_eq!(bundle.start("大连市教育局", "照片.JPG", 3, at).unwrap(), "大连市教育局/照片 (2).JPG");
        bundle.write_all(b"two").unwrap();
        assert_eq!(bundle.start("沈阳:市", "text.txt", 0, at).unwrap(), "沈阳_市/text.txt");
        let bytes = bundle.finish().unwrap();
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
        assert_eq!(archive.len(), 3);
        let mut second = String::new();
        std::io::Read::read_to_string(&mut archive.by_name("大连市教育局/照片 (2).JPG").unwrap(), &mut second).unwrap();
        assert_eq!(second, "two");
    }
}
