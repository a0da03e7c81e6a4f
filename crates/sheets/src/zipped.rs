//! Zipped office files (.xlsx, .ods, .docx) inflated once under a cap before any reader sees
//! them: the sizes a zip declares are claims, so every part is inflated for real and counted.
//! The same pass refuses XML that declares a document type (the door to entity expansion) and a
//! shared-string table that announces more strings than a sheet within bounds can hold, since
//! the workbook reader reserves room for that many before it reads one.

use std::borrow::Cow;
use std::io::{Cursor, Read};

use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::BytesStart;

use crate::bounds::{MAX_COLUMNS, MAX_ENTRY_BYTES, MAX_INFLATED_BYTES, MAX_ROWS, ReadError};

/// Parts a zipped office file may have; a list's workbook has a dozen or two.
const MAX_ENTRIES: usize = 2_000;
/// How much of a shared-string table is read to find its opening tag.
const SST_PREFIX: usize = 64 * 1024;

pub type Archive<'a> = zip::ZipArchive<Cursor<&'a [u8]>>;

pub fn unreadable(what: &str, error: impl std::fmt::Display) -> ReadError {
    ReadError::Unreadable(format!("the file could not be read as {what}: {error}"))
}

/// Opens `bytes` as a zip after every part has been inflated within the caps.
pub fn open<'a>(bytes: &'a [u8], what: &str) -> Result<Archive<'a>, ReadError> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| unreadable(what, e))?;
    if archive.len() > MAX_ENTRIES {
        return Err(unreadable(what, format!("it has {} parts, more than {MAX_ENTRIES}", archive.len())));
    }
    let mut total = 0u64;
    let mut buffer = vec![0u8; 64 * 1024];
    for index in 0..archive.len() {
        let mut entry = archive.by_index(index).map_err(|e| unreadable(what, e))?;
        let name = String::from_utf8_lossy(entry.name_raw()).into_owned();
        let mut markup = MarkupScan::default();
        let mut prefix = (name.to_ascii_lowercase().ends_with("sharedstrings.xml")).then(Vec::new);
        let mut size = 0u64;
        loop {
            let n = entry.read(&mut buffer).map_err(|e| unreadable(what, format!("part '{name}': {e}")))?;
            if n == 0 {
                break;
            }
            size += n as u64;
            total += n as u64;
            if size > MAX_ENTRY_BYTES {
                return Err(ReadError::Inflates(format!(
                    "part '{name}' of the file inflates to more than {} MiB",
                    MAX_ENTRY_BYTES >> 20
                )));
            }
            if total > MAX_INFLATED_BYTES {
                return Err(ReadError::Inflates(format!(
                    "the file inflates to more than {} MiB",
                    MAX_INFLATED_BYTES >> 20
                )));
            }
            if markup.feed(&buffer[..n]) {
                return Err(ReadError::Unreadable(format!(
                    "part '{name}' of the file declares a document type or entities, which huichang does not read"
                )));
            }
            if let Some(prefix) = prefix.as_mut().filter(|p| p.len() < SST_PREFIX) {
                prefix.extend_from_slice(&buffer[..n.min(SST_PREFIX - prefix.len())]);
            }
        }
        if let Some(prefix) = prefix {
            check_shared_strings(&name, &prefix)?;
        }
    }
    Ok(archive)
}

/// One part, inflated again; [`open`] has already counted it.
pub fn entry(archive: &mut Archive<'_>, name: &str, what: &str) -> Result<Option<Vec<u8>>, ReadError> {
    let mut entry = match archive.by_name(name) {
        Ok(entry) => entry,
        Err(zip::result::ZipError::FileNotFound) => return Ok(None),
        Err(e) => return Err(unreadable(what, e)),
    };
    let mut bytes = Vec::new();
    (&mut entry).take(MAX_ENTRY_BYTES).read_to_end(&mut bytes).map_err(|e| unreadable(what, e))?;
    Ok(Some(bytes))
}

/// `&amp;` and the other four, or a character by number; any other entity is refused.
pub fn entity(what: &str, reference: &quick_xml::events::BytesRef<'_>) -> Result<Cow<'static, str>, ReadError> {
    if let Some(c) = reference.resolve_char_ref().map_err(|e| unreadable(what, e))? {
        return Ok(Cow::Owned(c.to_string()));
    }
    let name = reference.xml10_content();
    resolve_predefined_entity(&name)
        .map(Cow::Borrowed)
        .ok_or_else(|| unreadable(what, format!("the entity &{name}; is not one huichang reads")))
}

pub fn attribute(what: &str, tag: &BytesStart<'_>, name: &str) -> Result<Option<String>, ReadError> {
    for attribute in tag.attributes() {
        let attribute = attribute.map_err(|e| unreadable(what, e))?;
        if attribute.key.as_ref() == name {
            let value =
                attribute.normalized_value(quick_xml::XmlVersion::Implicit1_0).map_err(|e| unreadable(what, e))?;
            return Ok(Some(value.into_owned()));
        }
    }
    Ok(None)
}

/// Finds `<!DOCTYPE` or `<!ENTITY` however the inflated bytes are cut into pieces.
#[derive(Default)]
struct MarkupScan {
    tail: Vec<u8>,
}

impl MarkupScan {
    const NEEDLES: [&'static [u8]; 2] = [b"<!DOCTYPE", b"<!ENTITY"];

    fn feed(&mut self, bytes: &[u8]) -> bool {
        let mut window = std::mem::take(&mut self.tail);
        window.extend_from_slice(&bytes[..bytes.len().min(16)]);
        let found = |haystack: &[u8]| {
            memchr::memchr_iter(b'<', haystack).any(|at| {
                let rest = &haystack[at..];
                Self::NEEDLES.iter().any(|n| rest.len() >= n.len() && rest[..n.len()].eq_ignore_ascii_case(n))
            })
        };
        if found(&window) || found(bytes) {
            return true;
        }
        self.tail = bytes[bytes.len().saturating_sub(16)..].to_vec();
        false
    }
}

/// The workbook reader reserves `uniqueCount` strings up front: the count must be one a sheet
/// within bounds can use, written as plain digits.
fn check_shared_strings(name: &str, prefix: &[u8]) -> Result<(), ReadError> {
    let refuse = |why: String| ReadError::TooLarge(format!("part '{name}' of the file {why}"));
    let mut reader = quick_xml::Reader::from_reader(prefix);
    loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::Start(tag) | quick_xml::events::Event::Empty(tag))
                if tag.local_name().as_ref() == "sst" =>
            {
                let Some(count) = tag.attributes().flatten().find(|a| a.key.local_name().as_ref() == "uniqueCount")
                else {
                    return Ok(());
                };
                let limit = (MAX_ROWS * MAX_COLUMNS) as u64;
                let value = Some(count.value.as_ref()).filter(|v| v.bytes().all(|b| b.is_ascii_digit()));
                return match value.and_then(|v| v.parse::<u64>().ok()) {
                    Some(n) if n <= limit => Ok(()),
                    _ => Err(refuse(format!("announces {} strings; at most {limit} are read", count.value))),
                };
            }
            Ok(quick_xml::events::Event::Eof) | Err(_) => {
                return Err(refuse("does not begin with its table of strings".into()));
            }
            Ok(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn zip_of(parts: &[(&str, &[u8])]) -> Vec<u8> {
        let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        for (name, bytes) in parts {
            writer.start_file(*name, options).unwrap();
            writer.write_all(bytes).unwrap();
        }
        writer.finish().unwrap().into_inner()
    }

    #[test]
    fn a_part_that_inflates_past_the_cap_is_refused_before_it_is_held() {
        let bomb = zip_of(&[("xl/worksheets/sheet1.xml", &vec![b' '; (MAX_ENTRY_BYTES + 1) as usize])]);
        assert!(bomb.len() < 100_000, "the bomb is small: {}", bomb.len());
        assert!(matches!(open(&bomb, "xlsx"), Err(ReadError::Inflates(m)) if m.contains("sheet1.xml")));
        let third = vec![b' '; (MAX_INFLATED_BYTES / 3 + 1) as usize];
        let wide = zip_of(&[("a.xml", &third), ("b.xml", &third), ("c.xml", &third)]);
        assert!(matches!(open(&wide, "xlsx"), Err(ReadError::Inflates(m)) if m.contains("64 MiB")));
    }

    #[test]
    fn a_document_type_is_refused_even_when_cut_between_reads() {
        let mut xml = vec![b' '; 64 * 1024 - 4];
        xml.extend_from_slice(b"<!doctype x [<!ENTITY a \"aaaa\">]><x>&a;</x>");
        assert!(matches!(open(&zip_of(&[("content.xml", &xml)]), "ods"), Err(ReadError::Unreadable(_))));
        assert!(open(&zip_of(&[("content.xml", b"<x>&amp;</x>")]), "ods").is_ok());
    }

    #[test]
    fn a_shared_string_table_may_not_announce_more_than_a_sheet_holds() {
        let sst = |count: &str| {
            format!(r#"<?xml version="1.0"?><sst xmlns="x" count="1" uniqueCount="{count}"><si><t>a</t></si></sst>"#)
        };
        assert!(open(&zip_of(&[("xl/sharedStrings.xml", sst("1").as_bytes())]), "xlsx").is_ok());
        for count in ["1000000000000", "+5", "1e9"] {
            let file = zip_of(&[("xl/sharedStrings.xml", sst(count).as_bytes())]);
            assert!(matches!(open(&file, "xlsx"), Err(ReadError::TooLarge(_))), "{count}");
        }
    }

    #[test]
    fn what_is_not_a_zip_is_unreadable() {
        assert!(matches!(open(b"PK\x03\x04 not really", "xlsx"), Err(ReadError::Unreadable(_))));
    }
}
