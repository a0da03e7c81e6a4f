//! Spreadsheets in and out. Branch venues keep their attendee lists in Excel and send receipts
//! as files; this crate reads what they have (.xlsx, .xls, .ods, .csv in UTF-8 or GBK, and the Word receipt .docx) into the
//! same submission the JSON API takes, and writes the receipt template and the organiser's
//! consolidated workbook and CSV. Every file is hostile until bounded: see [`bounds`].

pub mod bounds;
pub mod bundle;
mod docx;
mod ods;
pub mod read;
pub mod receipt;
pub mod write;
mod xls;
mod zipped;

pub use bounds::ReadError;
pub use read::{Format, Sheet, read};
pub use receipt::{Receipt, parse_receipt};
